-- One row per customer for the latest as-of date: strategy group, its actions and the share of resources it gets.
with segments as (
    select * from {{ ref('customer_segments') }}
),

reasons as (
    select
        customer_key,
        as_of_date,
        strategy_reason
    from {{ ref('int_customer_segments') }}
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
        reasons.strategy_reason as reason,
        segments.marketing_allowed
    from segments
    inner join playbook on segments.strategy_group = playbook.strategy_group
    left join reasons on segments.customer_key = reasons.customer_key and segments.as_of_date = reasons.as_of_date
)

select * from final
