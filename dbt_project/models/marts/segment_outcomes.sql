-- SPEC section 9: one row per complete outcome window (as-of date D, horizon h), dimension, segment and treatment
-- group: how the segment's customers of D did in (D, D + h]. Rates are shares of the segment's customers.
with windows as (
    select * from {{ ref('int_outcome_windows') }}
),

final as (
    select
        as_of_date,
        horizon_days,
        dimension,
        segment,
        treatment_group,
        customers,
        buyers,
        cast(buyers as double) / customers as repurchase_rate,
        revenue,
        cast(revenue as double) / customers as revenue_per_customer,
        cast(complainers as double) / customers as complaint_rate,
        cast(responders as double) / customers as response_rate
    from windows
)

select * from final
