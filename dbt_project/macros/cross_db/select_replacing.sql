{#- Every column of a relation, in order, with some replaced in place ({column: expression}) (DuckDB: `* replace`;
    Spark has no such form and lists the columns). -#}
{% macro select_replacing(relation, replacements) -%}
    {{ return(adapter.dispatch('select_replacing', 'crmseg')(relation, replacements)) }}
{%- endmacro %}

{% macro default__select_replacing(relation, replacements) -%}
    {%- set replaced = [] -%}
    {%- for column, expression in replacements.items() -%}
        {%- do replaced.append(expression ~ ' as ' ~ column) -%}
    {%- endfor -%}
    select * replace ({{ replaced | join(', ') }}) from {{ relation }}
{%- endmacro %}
