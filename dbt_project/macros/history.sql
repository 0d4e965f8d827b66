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

{#- A snapshot version's first day: the day its dbt_valid_from falls on, or null (since always) for the earliest
    version of its key, which stands in for the days before the history starts. -#}
{% macro version_valid_from(key) -%}
    case
        when row_number() over (partition by {{ key }} order by dbt_valid_from asc nulls last) > 1 then cast(dbt_valid_from as date)
    end
{%- endmacro %}

{#- Whether a version held at the end of at least one day: one replaced on the day it began did not. -#}
{% macro held_at_the_end_of_a_day() -%}
    (valid_from is null or valid_to is null or valid_from < valid_to)
{%- endmacro %}
