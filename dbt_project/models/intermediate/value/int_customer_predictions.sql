-- One row per scored customer per as-of date this run builds: SPEC section 8's columns, potential_class included,
-- null where a model could not be fitted. (The models' scores come from Python; segments read them from here.)
with scores as (
    select * from {{ ref('int_clv_scores') }}
),

inputs as (
    select * from {{ ref('int_purchase_days') }}
),

final as (
    select
        scores.as_of_date,
        scores.customer_key,
        scores.repeat_purchase_days,
        scores.p_alive,
        scores.expected_purchases_90d,
        scores.expected_purchases_365d,
        scores.expected_avg_value,
        scores.predicted_clv_365d,
        case
            when scores.predicted_clv_365d > (1 + {{ var('clv_change_share') }}) * inputs.annual_revenue then 'rising'
            when scores.predicted_clv_365d < (1 - {{ var('clv_change_share') }}) * inputs.annual_revenue then 'falling'
            when scores.predicted_clv_365d is not null then 'steady'
        end as potential_class
    from scores
    inner join inputs on scores.customer_key = inputs.customer_key and scores.as_of_date = inputs.as_of_date
)

select * from final
