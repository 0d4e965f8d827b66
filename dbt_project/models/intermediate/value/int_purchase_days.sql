-- One row per scored customer per as-of date D: its purchase days as of D, the inputs of SPEC section 8. Orders of
-- one day are one purchase day, whichever of the customer's ERP codes placed them; its value is their total.
with dates as (
    select * from {{ ref('int_as_of_dates') }}
),

code_days as (
    -- counted orders summed per ERP customer and day first: the link periods are joined once per code and day
    select
        customer_code,
        order_date,
        sum(total_amount) as amount
    from {{ ref('stg_erp__sales_orders') }}
    where status = 'completed'
    group by customer_code, order_date
),

customer_days as (
    select
        dates.as_of_date,
        links.customer_key,
        code_days.order_date,
        sum(code_days.amount) as amount
    from code_days
    inner join dates on code_days.order_date <= dates.as_of_date
    inner join {{ ref('int_erp_customers_linked') }} as links
        on code_days.customer_code = links.customer_code and {{ valid_on('links', 'dates.as_of_date') }}
    group by dates.as_of_date, links.customer_key, code_days.order_date
),

firsts as (
    select
        *,
        min(order_date) over (partition by as_of_date, customer_key) as first_purchase_date
    from customer_days
),

summed as (
    select
        as_of_date,
        customer_key,
        count(*) - 1 as repeat_purchase_days,
        min(first_purchase_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        sum(amount) filter (where order_date > first_purchase_date) as repeat_amount
    from firsts
    group by as_of_date, customer_key
),

final as (
    -- the scored population of D (section 5): T is its tenure_days, D - the first counted order
    select
        features.as_of_date,
        features.customer_key,
        cast(summed.repeat_purchase_days as integer) as repeat_purchase_days,
        cast({{ days_between('summed.first_purchase_date', 'summed.last_purchase_date') }} as integer) as purchase_span_days,
        cast(features.tenure_days as integer) as tenure_days,
        cast(summed.repeat_amount / nullif(summed.repeat_purchase_days, 0) as double) as repeat_mean_value,
        cast(features.annual_revenue as double) as annual_revenue
    from {{ ref('int_customer_features') }} as features
    inner join summed on features.customer_key = summed.customer_key and features.as_of_date = summed.as_of_date
    where features.is_scored
)

select * from final
