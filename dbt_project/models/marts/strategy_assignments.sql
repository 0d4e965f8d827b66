-- One row per customer for the latest as-of date in the history: strategy group, the rule that placed the customer
-- there, its actions, the share of resources it gets and its treatment group (SPEC section 9). Read from the history
-- alone, so re-running an earlier date changes nothing here.
-- The history is read where it is named (a CTE named twice would be computed whole once, every date of it).
with latest as (
    select max(as_of_date) as as_of_date from {{ ref('int_customer_segments') }}
),

playbook as (
    select * from {{ ref('strategy_playbook') }}
),

latest_segments as (
    select segments.*
    from {{ ref('int_customer_segments') }} as segments
    inner join latest on segments.as_of_date = latest.as_of_date
),

assigned as (
    -- a stable share of the customers is the control group of the strategy evaluation
    select
        *,
        {{ treatment_group('customer_key') }} as treatment_group
    from latest_segments
),

final as (
    select
        assigned.customer_key,
        assigned.crm_account_id,
        assigned.as_of_date,
        assigned.strategy_group,
        playbook.label_en as strategy_label_en,
        playbook.label_zh as strategy_label_zh,
        case
            when assigned.treatment_group = 'control'
                then 'No marketing action: control group of the strategy evaluation; tickets and complaints handled as usual'
            when assigned.marketing_allowed then playbook.actions_en
            else 'No marketing action: no marketing consent'
        end as actions,
        playbook.resource_share,
        cast(playbook.resource_share / count(*) over (partition by assigned.strategy_group) as double) as resource_weight,
        assigned.strategy_reason as reason,
        assigned.marketing_allowed,
        assigned.treatment_group
    from assigned
    inner join playbook on assigned.strategy_group = playbook.strategy_group
)

select * from final
