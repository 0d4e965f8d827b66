-- One row per pair of consecutive as-of dates in the history, dimension and move: how many customers moved.
-- A pair is known by its later date. A run works out only the pairs its dates make: those that end on a run date
-- and those that start on one (a backfilled date between two others replaces the pair that spanned it).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='to_date',
    on_schema_change='fail'
) }}
{% set dimensions = segment_dimensions() %}
-- The history is read where it is named (a CTE named twice would be computed whole once, every date of it).
with run_dates as (
    select as_of_date from {{ ref('int_as_of_dates') }}
),

dates as (
    select
        from_date,
        to_date
    from (
        select
            lag(as_of_date) over (order by as_of_date asc nulls last) as from_date,
            as_of_date as to_date
        from (select distinct as_of_date from {{ ref('customer_segments_history') }}) as history_dates
    ) as consecutive
    where
        from_date is not null
        {%- if is_incremental() %}
            and (
                to_date in (select run_dates.as_of_date from run_dates)
                or from_date in (select run_dates.as_of_date from run_dates)
            )
        {%- endif %}
),

before as (
    select
        dates.from_date,
        dates.to_date,
        history.*
    from {{ ref('customer_segments_history') }} as history inner join dates on history.as_of_date = dates.from_date
),

after as (
    select
        dates.from_date,
        dates.to_date,
        history.*
    from {{ ref('customer_segments_history') }} as history inner join dates on history.as_of_date = dates.to_date
),

pairs as (
    -- a customer present on one date only moves from or to 'absent'
    select
        coalesce(before.from_date, after.from_date) as from_date,
        coalesce(before.to_date, after.to_date) as to_date,
        before.customer_key as before_key,
        after.customer_key as after_key,
    {% for dimension in dimensions %}
        before.{{ dimension }} as before_{{ dimension }},
        after.{{ dimension }} as after_{{ dimension }}{{ "," if not loop.last }}
    {% endfor %}
    from before
    full outer join after on before.to_date = after.to_date and before.customer_key = after.customer_key
),

long as (
    select
        pairs.from_date,
        pairs.to_date,
        dimensions.dimension,
        case
            when pairs.before_key is null then 'absent'
            else coalesce({{ dimension_value(dimensions, 'pairs.before_') }}, 'not_scored')
        end as from_segment,
        case
            when pairs.after_key is null then 'absent'
            else coalesce({{ dimension_value(dimensions, 'pairs.after_') }}, 'not_scored')
        end as to_segment
    from pairs
    cross join {{ dimension_rows(dimensions) }}
),

final as (
    select
        from_date,
        to_date,
        dimension,
        from_segment,
        to_segment,
        count(*) as customers
    from long
    group by from_date, to_date, dimension, from_segment, to_segment
)

select * from final
