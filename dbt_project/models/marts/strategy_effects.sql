-- SPEC section 9: one row per complete outcome window and strategy group: treatment against control. The lifts are
-- differences (treatment minus control) with 95% intervals by the normal approximation: of two proportions for the
-- repurchase rate, Welch's (each group's own variance) for revenue per customer. A group without customers on one
-- side has no lift.
{% set z = 1.959963984540054 %}
with groups as (
    select * from {{ ref('int_outcome_windows') }}
    where dimension = 'strategy_group'
),

treatment as (
    select * from groups
    where treatment_group = 'treatment'
),

control as (
    select * from groups
    where treatment_group = 'control'
),

sides as (
    select
        coalesce(treatment.as_of_date, control.as_of_date) as as_of_date,
        coalesce(treatment.horizon_days, control.horizon_days) as horizon_days,
        coalesce(treatment.segment, control.segment) as strategy_group,
        coalesce(treatment.customers, 0) as treatment_customers,
        coalesce(control.customers, 0) as control_customers,
        cast(treatment.buyers as double) / treatment.customers as treatment_rate,
        cast(control.buyers as double) / control.customers as control_rate,
        cast(treatment.revenue as double) / treatment.customers as treatment_mean,
        cast(control.revenue as double) / control.customers as control_mean,
        treatment.revenue_squares as treatment_squares,
        control.revenue_squares as control_squares
    from treatment
    full outer join control
        on
            treatment.as_of_date = control.as_of_date
            and treatment.horizon_days = control.horizon_days
            and treatment.segment = control.segment
),

errors as (
    -- standard errors of the two differences; a side of one customer has no sample variance (taken as 0)
    select
        *,
        treatment_rate - control_rate as repurchase_lift,
        sqrt(
            treatment_rate * (1 - treatment_rate) / treatment_customers
            + control_rate * (1 - control_rate) / control_customers
        ) as repurchase_error,
        treatment_mean - control_mean as revenue_lift,
        sqrt(
            greatest(treatment_squares - treatment_customers * treatment_mean * treatment_mean, 0)
            / greatest(treatment_customers - 1, 1) / treatment_customers
            + greatest(control_squares - control_customers * control_mean * control_mean, 0)
            / greatest(control_customers - 1, 1) / control_customers
        ) as revenue_error
    from sides
),

final as (
    select
        as_of_date,
        horizon_days,
        strategy_group,
        treatment_customers,
        control_customers,
        treatment_rate as treatment_repurchase_rate,
        control_rate as control_repurchase_rate,
        repurchase_lift,
        repurchase_lift - {{ z }} * repurchase_error as repurchase_lift_low,
        repurchase_lift + {{ z }} * repurchase_error as repurchase_lift_high,
        treatment_mean as treatment_revenue_per_customer,
        control_mean as control_revenue_per_customer,
        revenue_lift,
        revenue_lift - {{ z }} * revenue_error as revenue_lift_low,
        revenue_lift + {{ z }} * revenue_error as revenue_lift_high,
        coalesce(
            repurchase_lift - {{ z }} * repurchase_error > 0 or repurchase_lift + {{ z }} * repurchase_error < 0, false
        ) as significant
    from errors
)

select * from final
