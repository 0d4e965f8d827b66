-- sqlfluff:indentation:template_blocks_indent:false
-- One row per customer per as-of date D with an order on or before D: its orders as of D, those of the ERP codes
-- linked to it on D. Two ways to the same rows (the unit tests hold both to the same expectations):
-- - one date (a night): the orders up to D are summed per ERP customer, and each ERP customer's sums go to the
--   customer it was linked to on D, so the links are joined once per ERP customer, not once per order;
-- - several dates (a backfill): between two changes of a customer's links (an epoch) its codes are the same, so
--   its orders are summed once per epoch: each day with orders changes the sums on its date, and again when it
--   leaves the RFM window and the year. Each epoch opens with its sums on the run's first date, and they are kept
--   cumulatively over the moments after it; each date takes the state of the last moment on or before it, so the
--   work grows with the orders plus the dates. (Joining every date with every order before it ran out of DuckDB's
--   3 GB for 15 dates at 1M customers; a moment per order day of the history took five times as long as this.)
{% set counted = "orders.status = 'completed'" %}
{% if as_of_start() == as_of_end() %}
{% set in_rfm_window = counted ~ " and orders.order_date > dates.as_of_date - " ~ var('rfm_window_days') %}
{% set in_year = counted ~ " and orders.order_date > dates.as_of_date - 365" %}
with dates as (
    select * from {{ ref('int_as_of_dates') }}
),

orders as (
    select * from {{ ref('stg_erp__sales_orders') }}
),

by_code as (
    select
        dates.as_of_date,
        orders.customer_code,
        -- any order, whatever its status, makes a customer known to the ERP
        min(orders.order_date) as first_any_order_date,
        min(orders.order_date) filter (where {{ counted }}) as first_order_date,
        max(orders.order_date) filter (where {{ counted }}) as last_order_date,
        count(*) filter (where {{ counted }}) as orders_total,
        count(*) filter (where {{ in_rfm_window }}) as frequency,
        sum(orders.total_amount) filter (where {{ in_rfm_window }}) as monetary,
        count(*) filter (where {{ in_year }}) as orders_365d,
        sum(orders.total_amount) filter (where {{ in_year }}) as annual_revenue
    from orders
    inner join dates on orders.order_date <= dates.as_of_date
    group by dates.as_of_date, orders.customer_code
),

final as (
    select
        by_code.as_of_date,
        links.customer_key,
        min(by_code.first_any_order_date) as first_any_order_date,
        min(by_code.first_order_date) as first_order_date,
        max(by_code.last_order_date) as last_order_date,
        cast(sum(by_code.orders_total) as bigint) as orders_total,
        cast(sum(by_code.frequency) as bigint) as frequency,
        coalesce(sum(by_code.monetary), 0) as monetary,
        cast(sum(by_code.orders_365d) as bigint) as orders_365d,
        coalesce(sum(by_code.annual_revenue), 0) as annual_revenue
    from by_code
    inner join {{ ref('int_erp_customers_linked') }} as links
        on by_code.customer_code = links.customer_code and {{ valid_on('links', 'by_code.as_of_date') }}
    group by by_code.as_of_date, links.customer_key
)

select * from final

{% else %}
{% set in_window = "days_to_first.orders > 0 and days_to_first.order_date > run.first_date - " ~ var('rfm_window_days') %}
{% set in_year = "days_to_first.orders > 0 and days_to_first.order_date > run.first_date - 365" %}
{% set reach = [var('rfm_window_days') | int, 365] | max %}
{{ epoch_order_days() }},

days_to_first as (
    {{ epoch_days("orders.order_date <= run.first_date") }}
),

recent_days as (
    -- the days that change a sum after F: those after it, and those that leave the window or the year after it
    {{ epoch_days("orders.order_date > run.first_date - " ~ reach ~ " and orders.order_date <= run.last_date") }}
),

opening as (
    -- each epoch's sums on the run's first date F, from its order days up to F
    select
        days_to_first.customer_key,
        days_to_first.epoch_from,
        days_to_first.epoch_to,
        run.first_date as moment,
        min(days_to_first.order_date) as any_order_date,
        min(days_to_first.order_date) filter (where days_to_first.orders > 0) as first_counted_date,
        max(days_to_first.order_date) filter (where days_to_first.orders > 0) as last_counted_date,
        sum(days_to_first.orders) as orders_total,
        coalesce(sum(days_to_first.orders) filter (where {{ in_window }}), 0) as frequency,
        coalesce(sum(days_to_first.amount) filter (where {{ in_window }}), 0) as monetary,
        coalesce(sum(days_to_first.orders) filter (where {{ in_year }}), 0) as orders_365d,
        coalesce(sum(days_to_first.amount) filter (where {{ in_year }}), 0) as annual_revenue
    from days_to_first
    cross join run
    group by days_to_first.customer_key, days_to_first.epoch_from, days_to_first.epoch_to, run.first_date
),

changes as (
    -- after F, a day's orders enter every sum on its date, leave the RFM window W days later (the window is
    -- (D - W, D]) and the year 365 days later
    select
        recent_days.customer_key,
        recent_days.epoch_from,
        recent_days.epoch_to,
        recent_days.order_date as moment,
        recent_days.order_date as any_order_date,
        case when recent_days.orders > 0 then recent_days.order_date end as counted_order_date,
        recent_days.orders as orders_total,
        recent_days.orders as frequency,
        coalesce(recent_days.amount, 0) as monetary,
        recent_days.orders as orders_365d,
        coalesce(recent_days.amount, 0) as annual_revenue
    from recent_days
    cross join run
    where recent_days.order_date > run.first_date
    union all
    select
        recent_days.customer_key,
        recent_days.epoch_from,
        recent_days.epoch_to,
        recent_days.order_date + {{ var('rfm_window_days') }} as moment,
        null as any_order_date,
        null as counted_order_date,
        0 as orders_total,
        -recent_days.orders as frequency,
        -coalesce(recent_days.amount, 0) as monetary,
        0 as orders_365d,
        0 as annual_revenue
    from recent_days
    cross join run
    where
        recent_days.orders > 0
        and recent_days.order_date + {{ var('rfm_window_days') }} > run.first_date
        and recent_days.order_date + {{ var('rfm_window_days') }} <= run.last_date
    union all
    select
        recent_days.customer_key,
        recent_days.epoch_from,
        recent_days.epoch_to,
        recent_days.order_date + 365 as moment,
        null as any_order_date,
        null as counted_order_date,
        0 as orders_total,
        0 as frequency,
        0 as monetary,
        -recent_days.orders as orders_365d,
        -coalesce(recent_days.amount, 0) as annual_revenue
    from recent_days
    cross join run
    where
        recent_days.orders > 0
        and recent_days.order_date + 365 > run.first_date
        and recent_days.order_date + 365 <= run.last_date
),

moments as (
    -- the opening state, then one moment per day of the run with a change
    select * from opening
    union all
    select
        customer_key,
        epoch_from,
        epoch_to,
        moment,
        min(any_order_date) as any_order_date,
        min(counted_order_date) as first_counted_date,
        max(counted_order_date) as last_counted_date,
        sum(orders_total) as orders_total,
        sum(frequency) as frequency,
        sum(monetary) as monetary,
        sum(orders_365d) as orders_365d,
        sum(annual_revenue) as annual_revenue
    from changes
    where moment < epoch_to
    group by customer_key, epoch_from, epoch_to, moment
),

states as (
    -- the sums from each moment on, and the dates they hold for: to the next moment or the epoch's end
    select
        customer_key,
        min(any_order_date) over epoch_moments as first_any_order_date,
        min(first_counted_date) over epoch_moments as first_order_date,
        max(last_counted_date) over epoch_moments as last_order_date,
        sum(orders_total) over epoch_moments as orders_total,
        sum(frequency) over epoch_moments as frequency,
        sum(monetary) over epoch_moments as monetary,
        sum(orders_365d) over epoch_moments as orders_365d,
        sum(annual_revenue) over epoch_moments as annual_revenue,
        greatest(moment, epoch_from) as holds_from,
        coalesce(lead(moment) over epoch_moments, epoch_to) as holds_to
    from moments
    window epoch_moments as (
        partition by customer_key, epoch_from order by moment asc nulls last rows between unbounded preceding and current row
    )
),

final as (
    select
        dates.as_of_date,
        states.customer_key,
        states.first_any_order_date,
        states.first_order_date,
        states.last_order_date,
        cast(states.orders_total as bigint) as orders_total,
        cast(states.frequency as bigint) as frequency,
        states.monetary,
        cast(states.orders_365d as bigint) as orders_365d,
        states.annual_revenue
    from states
    inner join dates on states.holds_from <= dates.as_of_date and states.holds_to > dates.as_of_date
)

select * from final
{% endif %}
