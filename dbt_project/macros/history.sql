{#- The versions of a snapshot by day: each with the dates it is valid at the end of, valid_from
    (inclusive) to valid_to (exclusive). A version superseded on the day it began is valid at the end
    of no day and is left out. The earliest version of each key also stands in for the days before
    the history starts (valid_from -infinity); history_from keeps the day it really began. -#}
{% macro history_by_day(snapshot, key) -%}
    select *
    from (
        select
            *,
            cast(dbt_valid_from as date) as history_from,
            case
                when row_number() over (partition by {{ key }} order by dbt_valid_from) = 1 then date '-infinity'
                else cast(dbt_valid_from as date)
            end as valid_from,
            coalesce(cast(dbt_valid_to as date), date 'infinity') as valid_to
        from {{ ref(snapshot) }}
    ) as versions
    where valid_from < valid_to
{%- endmacro %}

{#- Whether a row valid from valid_from (inclusive) to valid_to (exclusive) holds at the end of as-of
    date `day`; a null bound is open (-infinity, infinity). -#}
{% macro valid_on(row, day) -%}
    coalesce({{ row }}.valid_from, date '-infinity') <= {{ day }} and {{ day }} < coalesce({{ row }}.valid_to, date 'infinity')
{%- endmacro %}

{#- Infinite bounds as nulls, as the tables keep them (pandas and BI tools cannot read infinite dates). -#}
{% macro open_bounds(row) -%}
    nullif({{ row }}.valid_from, date '-infinity') as valid_from,
    nullif({{ row }}.valid_to, date 'infinity') as valid_to
{%- endmacro %}

{#- The versions of a snapshot of things with a created_at, valid only from the day each was created. -#}
{% macro created_by_day(snapshot, key, columns) -%}
    select *
    from (
        select
            {{ columns | join(', ') }},
            greatest(valid_from, coalesce(cast(created_at as date), valid_from)) as valid_from,
            valid_to
        from ({{ history_by_day(snapshot, key) }}) as versions
    ) as existing
    where valid_from < valid_to
{%- endmacro %}
