{#- Written after a CTE's `as`: the CTE is worked out once and kept, not inlined into the query that reads it
    (DuckDB: `as materialized`; Spark has no such keyword and inlines, so there it is nothing). -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'crmseg')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
    materialized
{%- endmacro %}
