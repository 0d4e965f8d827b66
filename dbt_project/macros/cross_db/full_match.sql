{#- Whether the whole of `value` matches the regular expression `pattern` (PostgreSQL: value ~ '^(?:p)$';
    Spark: value rlike '^(?:p)$'). -#}
{% macro full_match(value, pattern) -%}
    {{ return(adapter.dispatch('full_match', 'crmseg')(value, pattern)) }}
{%- endmacro %}

{% macro default__full_match(value, pattern) -%}
    regexp_full_match({{ value }}, '{{ pattern }}')
{%- endmacro %}
