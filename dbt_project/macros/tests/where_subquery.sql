{#- dbt's get_where_subquery, which every generic test reads its model through, with one addition: the tests of
    customer_segments_history (a row per customer per as-of date ever run) check the dates this run builds. The
    other dates were checked by the runs that built them and this run does not change them, and a night must not
    cost the length of the history. A test's own `where` config still wins. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where and relation.identifier == 'customer_segments_history' -%}
        {%- set where = "as_of_date between date '" ~ as_of_start() ~ "' and date '" ~ as_of_end() ~ "'" -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
