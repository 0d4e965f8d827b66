-- One row per customer for the latest as-of date in the history: strategy group, the rule that placed the customer
-- there, its actions and the share of resources it gets. Read from the history alone, so re-running an earlier date
-- changes nothing here.
-- The history is read where it is named (a CTE named twice would be computed whole once, every date of it).
with latest as (
    select max(as_of_date) as as_of_date from {{ ref('int_customer_segments') }}
),

playbook as (
    select * from {{ ref('strategy_playbook') }}
),

final as (
    select
        segments.customer_key,
        segments.crm_account_id,
        segments.as_of_date,
        segments.strategy_group,
        playbook.label_en as strategy_label_en,
        playbook.label_zh as strategy_label_zh,
        case
            when segments.marketing_allowed then playbook.actions_en
            else 'No marketing action: no marketing consent'
        end as actions,
        playbook.resource_share,
        cast(playbook.resource_share / count(*) over (partition by segments.strategy_group) as double) as resource_weight,
        segments.strategy_reason as reason,
        segments.marketing_allowed
    from {{ ref('int_customer_segments') }} as segments
    inner join latest on segments.as_of_date = latest.as_of_date
    inner join playbook on segments.strategy_group = playbook.strategy_group
)

select * from final
