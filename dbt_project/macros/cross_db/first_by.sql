{#- In a group, `value` of the row with the smallest `order`, null when that row's value is null (`order` is unique
    in the group). DuckDB's arg_min skips a null value and takes the next row's; arg_min_null does not. (Spark:
    min_by, which keeps a null value.) -#}
{% macro first_by(value, order) -%}
    {{ return(adapter.dispatch('first_by', 'crmseg')(value, order)) }}
{%- endmacro %}

{% macro default__first_by(value, order) -%}
    arg_min_null({{ value }}, {{ order }})
{%- endmacro %}
