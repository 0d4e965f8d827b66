{#- Written after a CTE's `as`: the CTE is inlined into every query that reads it, not worked out once and kept
    (DuckDB keeps a CTE read more than once whole unless told `not materialized`; Spark always inlines, so there
    it is nothing). For a CTE of every landed row that is cheaper to read again than to hold. -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte', 'crmseg')()) }}
{%- endmacro %}

{% macro default__inlined_cte() -%}
    not materialized
{%- endmacro %}
