{#- A relation with one row per day from `first` to `last` ('YYYY-MM-DD', both included), in column `name`
    (PostgreSQL: generate_series(...)::date; Spark: explode(sequence(...))). -#}
{% macro date_series(first, last, name) -%}
    {{ return(adapter.dispatch('date_series', 'crmseg')(first, last, name)) }}
{%- endmacro %}

{% macro default__date_series(first, last, name) -%}
    (select cast(generate_series as date) as {{ name }} from generate_series(date '{{ first }}', date '{{ last }}', interval 1 day))
{%- endmacro %}
