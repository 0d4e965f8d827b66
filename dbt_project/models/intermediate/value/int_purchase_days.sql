-- One row per scored customer per as-of date D: its purchase days as of D, the inputs of SPEC section 8. Orders of
-- one day are one purchase day, whichever of the customer's ERP codes placed them; its value is their total.
--
-- A customer's purchase days as of D are the days up to D of the codes linked to it on D. Between two changes of
-- its links (an epoch) the codes are the same, so what they did is summed once per epoch: each epoch opens with its
-- purchase days up to the run's first date F (one aggregate), each purchase day after F adds one, cumulatively, and
-- each date D takes the last state on or before it. A night is the opening alone, and the work grows with the
-- history plus the dates, not their product.
{% set completed = "orders.status = 'completed'" %}
{{ epoch_order_days() }},

days_to_first as (
    {{ epoch_days(completed ~ " and orders.order_date <= run.first_date") }}
),

days_after_first as (
    {{ epoch_days(completed ~ " and orders.order_date > run.first_date and orders.order_date <= run.last_date") }}
),

opening as (
    -- each epoch's purchase days (days with a counted order) up to F
    select
        days_to_first.customer_key,
        days_to_first.epoch_from,
        days_to_first.epoch_to,
        run.first_date as moment,
        count(*) as purchase_days,
        min(days_to_first.order_date) as first_purchase_date,
        max(days_to_first.order_date) as last_purchase_date,
        sum(days_to_first.amount) as amount,
        {{ first_by('days_to_first.amount', 'days_to_first.order_date') }} as first_amount
    from days_to_first
    cross join run
    group by days_to_first.customer_key, days_to_first.epoch_from, days_to_first.epoch_to, run.first_date
),

moments as (
    -- the opening state, then each purchase day after F
    select * from opening
    union all
    select
        customer_key,
        epoch_from,
        epoch_to,
        order_date as moment,
        1 as purchase_days,
        order_date as first_purchase_date,
        order_date as last_purchase_date,
        amount,
        amount as first_amount
    from days_after_first
),

running as (
    -- the totals from each moment on, and the dates they hold for: to the next moment or the epoch's end (every
    -- moment of an epoch is before its end); the first purchase day's value is left out of the repeat amount
    select
        customer_key,
        sum(purchase_days) over epoch_moments - 1 as repeat_purchase_days,
        min(first_purchase_date) over epoch_moments as first_purchase_date,
        last_purchase_date,
        sum(amount) over epoch_moments - first_value(first_amount) over epoch_moments as repeat_amount,
        greatest(moment, epoch_from) as holds_from,
        coalesce(lead(moment) over epoch_moments, epoch_to) as holds_to
    from moments
    window epoch_moments as (
        partition by customer_key, epoch_from order by moment asc nulls last rows between unbounded preceding and current row
    )
),

final as (
    -- the scored population of D (section 5): T is its tenure_days, D - the first counted order
    select
        features.as_of_date,
        features.customer_key,
        cast(running.repeat_purchase_days as integer) as repeat_purchase_days,
        cast({{ days_between('running.first_purchase_date', 'running.last_purchase_date') }} as integer)
            as purchase_span_days,
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
