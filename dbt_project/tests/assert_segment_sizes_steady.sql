{{ config(severity='warn') }}
-- Drift: strategy groups, RFM segments and ABC classes whose customer count moved by more than
-- drift_max_share since the previous as-of date in the history, for the dates this run builds.
-- A segment that appears or empties counts as moved. Returns the segments that moved.
with summary as (
    select
        as_of_date,
        dimension,
        segment,
        customers
    from {{ ref('segment_summary') }}
    where dimension in ('strategy_group', 'rfm_segment', 'abc_class') and segment <> 'not_scored'
),

run_dates as (
    select
        as_of_date,
        previous_date
    from (
        select
            as_of_date,
            lag(as_of_date) over (order by as_of_date asc nulls last) as previous_date
        from (select distinct as_of_date from summary) as history_dates
    ) as consecutive
    where
        previous_date is not null
        and {{ on_run_dates('as_of_date') }}
),

current_sizes as (
    select
        run_dates.as_of_date,
        run_dates.previous_date,
        summary.dimension,
        summary.segment,
        summary.customers
    from run_dates inner join summary on run_dates.as_of_date = summary.as_of_date
),

previous_sizes as (
    select
        run_dates.as_of_date,
        run_dates.previous_date,
        summary.dimension,
        summary.segment,
        summary.customers
    from run_dates inner join summary on run_dates.previous_date = summary.as_of_date
),

moves as (
    select
        coalesce(current_sizes.as_of_date, previous_sizes.as_of_date) as as_of_date,
        coalesce(current_sizes.previous_date, previous_sizes.previous_date) as previous_date,
        coalesce(current_sizes.dimension, previous_sizes.dimension) as dimension,
        coalesce(current_sizes.segment, previous_sizes.segment) as segment,
        coalesce(previous_sizes.customers, 0) as previous_customers,
        coalesce(current_sizes.customers, 0) as customers
    from current_sizes
    full outer join previous_sizes
        on
            current_sizes.as_of_date = previous_sizes.as_of_date
            and current_sizes.dimension = previous_sizes.dimension
            and current_sizes.segment = previous_sizes.segment
)

select
    *,
    cast(customers - previous_customers as double) / nullif(previous_customers, 0) as relative_change
from moves
where abs(customers - previous_customers) > {{ var('drift_max_share') }} * previous_customers
