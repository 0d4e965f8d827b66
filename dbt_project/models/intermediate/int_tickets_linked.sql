-- One row per ticket: the customer it joins (crm_account_id, then e-mail, then phone of the account or its contacts) and the rule.
with tickets as (
    select * from {{ ref('stg_service__tickets') }}
),

accounts as (
    select
        account_id,
        email,
        phone
    from {{ ref('stg_crm__accounts') }}
),

contact_points as (
    select
        account_id,
        email,
        phone
    from accounts
    union all
    select
        account_id,
        email,
        phone
    from {{ ref('stg_crm__contacts') }}
),

candidates as (
    select
        tickets.ticket_id,
        1 as rule_order,
        'crm_account_id' as rule,
        accounts.account_id
    from tickets inner join accounts on tickets.crm_account_id = accounts.account_id
    union all
    select
        tickets.ticket_id,
        2 as rule_order,
        'email' as rule,
        contact_points.account_id
    from tickets inner join contact_points on tickets.customer_email = contact_points.email
    union all
    select
        tickets.ticket_id,
        3 as rule_order,
        'phone' as rule,
        contact_points.account_id
    from tickets inner join contact_points on tickets.customer_phone = contact_points.phone
),

first_rule as (
    {{ first_matching_rule('candidates', 'ticket_id') }}
),

final as (
    select
        tickets.ticket_id,
        case when len(first_rule.matched_accounts) = 1 then first_rule.matched_accounts[1] end as crm_account_id,
        case when len(first_rule.matched_accounts) = 1 then first_rule.rule end as link_rule,
        coalesce(len(first_rule.matched_accounts) > 1, false) as is_conflict,
        tickets.ticket_type,
        tickets.satisfaction_score,
        tickets.created_at,
        cast(tickets.created_at as date) as created_date
    from tickets
    left join first_rule on tickets.ticket_id = first_rule.ticket_id
)

select
    *,
    case when crm_account_id is not null then {{ customer_key('crm_account_id', 'null') }} end as customer_key
from final
