{#- Integer division, rounding down, exactly (PostgreSQL: div(a, b); Spark: a div b). -#}
{% macro int_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('int_div', 'crmseg')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__int_div(numerator, denominator) -%}
    ({{ numerator }}) // ({{ denominator }})
{%- endmacro %}
