-- One row per scored customer per as-of date D: its purchase days as of D, the inputs of SPEC section 8. Orders of
-- one day are one purchase day, whichever of the customer's ERP codes placed them; its value is their total.
--
-- A customer's purchase days as of D are the days up to D of the codes linked to it on D. Between two changes of
-- its links (an epoch) the codes are the same, so the days are counted once per epoch, cumulatively, and each
-- date D takes the last day on or before it: the work grows with the history plus the dates, not their product
-- (at 1M customers, 8 s for one date and 22 s for 30).
{{ epoch_order_days() }},

running as (
    -- each purchase day (a day with a counted order) with the totals up to it, and the dates it stands for: to the
    -- next day or the epoch's end (every day of an epoch is before its end)
    select
        customer_key,
        order_date,
        row_number() over epoch_days_in_order - 1 as repeat_purchase_days,
        first_value(order_date) over epoch_days_in_order as first_purchase_date,
        sum(amount) over epoch_days_in_order - first_value(amount) over epoch_days_in_order as repeat_amount,
        greatest(order_date, epoch_from) as holds_from,
        coalesce(lead(order_date) over epoch_days_in_order, epoch_to) as holds_to
    from epoch_days
    where orders > 0
    window epoch_days_in_order as (
        partition by customer_key, epoch_from order by order_date asc nulls last rows between unbounded preceding and current row
    )
),

final as (
    -- the scored population of D (section 5): T is its tenure_days, D - the first counted order
    select
        features.as_of_date,
        features.customer_key,
        cast(running.repeat_purchase_days as integer) as repeat_purchase_days,
        cast({{ days_between('running.first_purchase_date', 'running.order_date') }} as integer) as purchase_span_days,
        cast(features.tenure_days as integer) as tenure_days,
        cast(running.repeat_amount / nullif(running.repeat_purchase_days, 0) as double) as repeat_mean_value,
        cast(features.annual_revenue as double) as annual_revenue
    from {{ ref('int_customer_features') }} as features
    inner join running
        on
            features.customer_key = running.customer_key
            and features.as_of_date >= running.holds_from
            and features.as_of_date < running.holds_to
    where features.is_scored
)

select * from final
