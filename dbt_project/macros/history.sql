{#- Periods of validity are in days: valid_from (inclusive) to valid_to (exclusive). The tables keep an open
    bound as null; inside a model the two ends of time below stand in for null, so that bounds can be compared
    and combined with greatest() and least(). -#}

{% macro open_start() -%}
    date '0001-01-01'
{%- endmacro %}

{% macro open_end() -%}
    date '9999-12-31'
{%- endmacro %}

{#- Whether a period holds at the end of as-of date `day`. -#}
{% macro valid_on(row, day) -%}
    coalesce({{ row }}.valid_from, {{ open_start() }}) <= {{ day }} and {{ day }} < coalesce({{ row }}.valid_to, {{ open_end() }})
{%- endmacro %}
