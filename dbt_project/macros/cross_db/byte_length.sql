{#- The length of a text in bytes, not characters (PostgreSQL and Spark: octet_length). -#}
{% macro byte_length(value) -%}
    {{ return(adapter.dispatch('byte_length', 'crmseg')(value)) }}
{%- endmacro %}

{% macro default__byte_length(value) -%}
    strlen({{ value }})
{%- endmacro %}
