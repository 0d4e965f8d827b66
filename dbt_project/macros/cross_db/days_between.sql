{#- Whole days from the date `start` to the date `end` (PostgreSQL: end - start; Spark: datediff(end, start)). -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'crmseg')(start, end)) }}
{%- endmacro %}

{% macro default__days_between(start, end) -%}
    ({{ end }} - {{ start }})
{%- endmacro %}
