-- One row per as-of date, dimension and segment: customers and annual revenue, with their shares.
-- A date's rows follow from that date's segments alone: a run replaces the dates it builds and no other.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail'
) }}
{% set dimensions = segment_dimensions() %}
with run_dates as (
    select as_of_date from {{ ref('int_as_of_dates') }}
),

history as (
    select * from {{ ref('customer_segments_history') }}
    {%- if is_incremental() %}
        where as_of_date in (select run_dates.as_of_date from run_dates)
    {%- endif %}
),

long as (
    select
        history.as_of_date,
        dimensions.dimension,
        coalesce({{ dimension_value(dimensions, 'history.') }}, 'not_scored') as segment,
        history.annual_revenue
    from history
    cross join {{ dimension_rows(dimensions) }}
),

counted as (
    select
        as_of_date,
        dimension,
        segment,
        count(*) as customers,
        sum(annual_revenue) as annual_revenue
    from long
    group by as_of_date, dimension, segment
),

final as (
    select
        as_of_date,
        dimension,
        segment,
        customers,
        cast(customers / sum(customers) over per_dimension as double) as share_of_customers,
        annual_revenue,
        cast(coalesce(annual_revenue / nullif(sum(annual_revenue) over per_dimension, 0), 0) as double) as share_of_revenue
    from counted
    window per_dimension as (partition by as_of_date, dimension)
)

select * from final
