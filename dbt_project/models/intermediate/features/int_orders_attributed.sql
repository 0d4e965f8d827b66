-- One row per customer per as-of date D with an order on or before D: its orders as of D. The orders are
-- summed per ERP customer and date first, then each ERP customer's sums go to the customer it was linked to
-- on D, so the link periods are joined once per ERP customer and date, not once per order.
{% set counted = "orders.status = 'completed'" %}
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
