{#- The type of text values (PostgreSQL: text; Spark: string). -#}
{% macro string_type() -%}
    {{ return(adapter.dispatch('string_type', 'crmseg')()) }}
{%- endmacro %}

{% macro default__string_type() -%}
    varchar
{%- endmacro %}
