{#- The values of `expression` in a group, sorted and joined by `separator`; `distinct` keeps each value once
    (PostgreSQL: string_agg(... order by ...) as here; Spark: array_join(array_sort(collect_list(...)))). -#}
{% macro sorted_string_agg(expression, separator, distinct=false) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'crmseg')(expression, separator, distinct)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(expression, separator, distinct) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expression }}, '{{ separator }}' order by {{ expression }})
{%- endmacro %}
