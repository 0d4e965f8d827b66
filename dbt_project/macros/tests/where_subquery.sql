{#- dbt's get_where_subquery, which every generic test reads its model through, with two additions, so that a night
    costs what changed and not the length of the history:
    - the tests of customer_segments_history (a row per customer per as-of date ever run) check the dates this run
      builds; the other dates were checked by the runs that built them and this run does not change them;
    - the tests of a staged table (stg_*) check the rows its last build staged (its latest _staged_at; every row
      on a first or full build). Staging re-stages every row of a key that landed again and every child whose
      parent changed state (macros/incremental_staging.sql), so no other row can have begun to fail. A test of
      uniqueness checks every row sharing its (first) column's value with such a row: a duplicate may pair a new
      row with an old one.
    A test's own `where` config still wins. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where and relation.identifier == 'customer_segments_history' -%}
        {%- set where = on_run_dates('as_of_date') -%}
    {%- elif not where and relation.identifier.startswith('stg_') -%}
        {%- set where = staged_by_last_build(relation, model.test_metadata) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The rows of a staged table a test checks: those its last build staged, or for a test of uniqueness every row
    sharing its column's value with one of them. The last build is this one when it builds the base model under the
    view (which may stage nothing: a night on which no row of the table changed); otherwise the base table gives
    its newest moment (the rows a build stages are current) without finding its current rows. -#}
{% macro staged_by_last_build(relation, test) -%}
    {%- set base = relation.incorporate(path={'identifier': 'base_' ~ relation.identifier[4:]}) -%}
    {%- if ('model.' ~ model.package_name ~ '.' ~ base.identifier) in selected_resources -%}
        {%- set since = staged_at() -%}
    {%- else -%}
        {%- set since = "(select max(_staged_at) from " ~ base ~ ")" -%}
    {%- endif -%}
    {%- set last_build = "_staged_at >= " ~ since -%}
    {%- if test.name == 'unique' -%}
        {%- set column = test.kwargs.column_name -%}
    {%- elif test.name == 'unique_combination' -%}
        {%- set column = test.kwargs.columns[0] -%}
    {%- else -%}
        {{- return(last_build) -}}
    {%- endif -%}
    {#- the last build staged every row the base holds (a first or full build): every row is checked at once, without
        first gathering the values of the rows it staged (in a 3M-customer first run, the 33M campaign responses' ids) -#}
    {%- if none_staged(base, '< ' ~ since) -%}
        {{- return('') -}}
    {%- endif -%}
    {{- return(column ~ " in (select " ~ column ~ " from " ~ relation ~ " where " ~ last_build ~ ")") -}}
{%- endmacro %}
