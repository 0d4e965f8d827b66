{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['as_of_date', 'horizon_days'],
    on_schema_change='fail', full_refresh=false
) }}
-- SPEC section 9: one row per outcome window (as-of date D, horizon h), dimension, segment and treatment group: the
-- customers of the segment on D and what they did in (D, D + h]. A window is complete on R = D + h and is worked out
-- by the run of R (or a backfill over R) from what is known on R, so a run adds at most one window per horizon and
-- re-running R gives the same rows. The sums (revenue and its squares) are what segment_outcomes and
-- strategy_effects need; the history keeps its dates through a full refresh, and so do these windows.
{% set horizons = outcome_horizons() %}
{% set dimensions = outcome_dimensions() %}
with run_dates as (
    select as_of_date from {{ ref('int_as_of_dates') }}
),

horizons as (
    {% for horizon in horizons %}
        select {{ horizon }} as horizon_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

candidates as (
    -- the windows the run's dates complete: D = R - h
    select
        run_dates.as_of_date - horizons.horizon_days as as_of_date,
        horizons.horizon_days,
        run_dates.as_of_date as outcome_date
    from run_dates
    cross join horizons
),

windows as (
    -- of them, those whose D is in the history (a D that has not been run has no window): a night without a window
    -- reads no orders
    select candidates.*
    from candidates
    where exists (
        select 1 from {{ ref('int_customer_segments') }} as history
        where history.as_of_date = candidates.as_of_date
    )
),

members as (
    -- the customers of D with their segments and treatment group on D
    select
        windows.as_of_date,
        windows.horizon_days,
        windows.outcome_date,
        history.customer_key,
        {{ treatment_group('history.customer_key') }} as treatment_group,
    {% for dimension in dimensions %}
        history.{{ dimension }}{{ "," if not loop.last }}
    {% endfor %}
    from {{ ref('int_customer_segments') }} as history
    inner join windows on history.as_of_date = windows.as_of_date
),

orders_by_code as (
    -- counted orders in the window, summed per ERP customer first (the links are joined once per code, not per order)
    select
        windows.as_of_date,
        windows.horizon_days,
        windows.outcome_date,
        orders.customer_code,
        sum(orders.total_amount) as revenue
    from {{ ref('stg_erp__sales_orders') }} as orders
    inner join windows on orders.order_date > windows.as_of_date and orders.order_date <= windows.outcome_date
    where orders.status = 'completed'
    group by windows.as_of_date, windows.horizon_days, windows.outcome_date, orders.customer_code
),

orders as (
    -- each ERP customer's orders go to the customer it is linked to on R
    select
        orders_by_code.as_of_date,
        orders_by_code.horizon_days,
        links.customer_key,
        sum(orders_by_code.revenue) as revenue
    from orders_by_code
    inner join {{ ref('int_erp_customers_linked') }} as links
        on orders_by_code.customer_code = links.customer_code and {{ valid_on('links', 'orders_by_code.outcome_date') }}
    group by orders_by_code.as_of_date, orders_by_code.horizon_days, links.customer_key
),

complaints as (
    -- complaint tickets created in the window, linked as they were on R
    select distinct
        windows.as_of_date,
        windows.horizon_days,
        tickets.customer_key
    from {{ ref('int_tickets_linked') }} as tickets
    inner join windows
        on
            {{ valid_on('tickets', 'windows.outcome_date') }}
            and tickets.created_date > windows.as_of_date
            and tickets.created_date <= windows.outcome_date
    where tickets.customer_key is not null and tickets.ticket_type = 'complaint'
),

responses as (
    -- qualifying campaign responses (SPEC section 5) in the window
    select distinct
        windows.as_of_date,
        windows.horizon_days,
        {{ customer_key('responses.account_id', 'null') }} as customer_key
    from {{ ref('stg_crm__campaign_responses') }} as responses
    inner join windows
        on
            cast(responses.responded_at as date) > windows.as_of_date
            and cast(responses.responded_at as date) <= windows.outcome_date
    where responses.response_type in ('clicked', 'registered', 'attended', 'converted')
),

outcomes as (
    select
        members.*,
        orders.customer_key is not null as bought,
        coalesce(orders.revenue, 0) as revenue,
        complaints.customer_key is not null as complained,
        responses.customer_key is not null as responded
    from members
    left join orders
        on
            members.as_of_date = orders.as_of_date
            and members.horizon_days = orders.horizon_days
            and members.customer_key = orders.customer_key
    left join complaints
        on
            members.as_of_date = complaints.as_of_date
            and members.horizon_days = complaints.horizon_days
            and members.customer_key = complaints.customer_key
    left join responses
        on
            members.as_of_date = responses.as_of_date
            and members.horizon_days = responses.horizon_days
            and members.customer_key = responses.customer_key
),

combinations as (
    -- summed per combination of segments first: far fewer rows than customers to spread over the dimensions
    select
        as_of_date,
        horizon_days,
        treatment_group,
        {% for dimension in dimensions %}
            coalesce({{ dimension }}, 'not_scored') as {{ dimension }},
        {% endfor %}
        count(*) as customers,
        count(*) filter (where bought) as buyers,
        sum(revenue) as revenue,
        sum(cast(revenue as double) * cast(revenue as double)) as revenue_squares,
        count(*) filter (where complained) as complainers,
        count(*) filter (where responded) as responders
    from outcomes
    group by
        as_of_date,
        horizon_days,
        treatment_group,
    {% for dimension in dimensions %}
        coalesce({{ dimension }}, 'not_scored'){{ "," if not loop.last }}
    {% endfor %}
),

long as (
    -- one row per combination, window and dimension; a customer outside the scored population is in 'not_scored'
    select
        combinations.as_of_date,
        combinations.horizon_days,
        dimensions.dimension,
        {{ dimension_value(dimensions, 'combinations.') }} as segment,
        combinations.treatment_group,
        combinations.customers,
        combinations.buyers,
        combinations.revenue,
        combinations.revenue_squares,
        combinations.complainers,
        combinations.responders
    from combinations
    cross join {{ dimension_rows(dimensions) }}
),

final as (
    select
        as_of_date,
        horizon_days,
        dimension,
        segment,
        treatment_group,
        cast(sum(customers) as bigint) as customers,
        cast(sum(buyers) as bigint) as buyers,
        cast(sum(revenue) as decimal(38, 2)) as revenue,
        sum(revenue_squares) as revenue_squares,
        cast(sum(complainers) as bigint) as complainers,
        cast(sum(responders) as bigint) as responders
    from long
    group by as_of_date, horizon_days, dimension, segment, treatment_group
)

select * from final
