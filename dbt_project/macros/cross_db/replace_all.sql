{#- `value` with every match of `pattern` replaced (PostgreSQL: regexp_replace with the 'g' flag as here;
    Spark: regexp_replace, which replaces all). -#}
{% macro replace_all(value, pattern, replacement) -%}
    {{ return(adapter.dispatch('replace_all', 'crmseg')(value, pattern, replacement)) }}
{%- endmacro %}

{% macro default__replace_all(value, pattern, replacement) -%}
    regexp_replace({{ value }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
