{#- The value as `type`, or null when it cannot be read as one (DuckDB: try_cast; PostgreSQL has no such
    cast and needs a pattern check first; Spark: cast with ANSI mode off). -#}
{% macro try_cast(expression, type) -%}
    {{ return(adapter.dispatch('try_cast', 'crmseg')(expression, type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, type) -%}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}
