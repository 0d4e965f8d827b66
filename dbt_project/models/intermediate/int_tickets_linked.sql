-- One row per ticket per period its link held: the customer it joined (crm_account_id, then the e-mail, then
-- the phone of an account or one of its contacts) at the end of every day from valid_from (inclusive) to
-- valid_to (exclusive; a null bound is open), and the rule. Accounts and contacts are taken from the history,
-- so a past as-of date sees them as they were; the ticket itself is the one staged now.
with tickets as (
    select * from {{ ref('stg_service__tickets') }}
),

accounts as (
    -- an account joins from the day it was created
    {{ created_by_day('crm_accounts_history', 'account_id', ['account_id', 'email', 'phone']) }}
),

contacts as (
    -- a contact is a way to reach its account from the day it was created
    {{ created_by_day('crm_contacts_history', 'contact_id', ['account_id', 'email', 'phone']) }}
),

contact_points as (
    select * from accounts
    union all
    select * from contacts
),

candidates as (
    select
        tickets.ticket_id,
        1 as rule_order,
        'crm_account_id' as rule,
        accounts.account_id,
        accounts.valid_from,
        accounts.valid_to
    from tickets inner join accounts on tickets.crm_account_id = accounts.account_id
    union all
    select
        tickets.ticket_id,
        2 as rule_order,
        'email' as rule,
        contact_points.account_id,
        contact_points.valid_from,
        contact_points.valid_to
    from tickets inner join contact_points on tickets.customer_email = contact_points.email
    union all
    select
        tickets.ticket_id,
        3 as rule_order,
        'phone' as rule,
        contact_points.account_id,
        contact_points.valid_from,
        contact_points.valid_to
    from tickets inner join contact_points on tickets.customer_phone = contact_points.phone
),

periods as (
    {{ link_periods('tickets', 'candidates', 'ticket_id') }}
),

final as (
    select
        tickets.ticket_id,
        {{ open_bounds('periods') }},
        case when len(periods.matched_accounts) = 1 then periods.matched_accounts[1] end as crm_account_id,
        case when len(periods.matched_accounts) = 1 then periods.rule end as link_rule,
        coalesce(len(periods.matched_accounts) > 1, false) as is_conflict,
        tickets.ticket_type,
        tickets.satisfaction_score,
        tickets.created_at,
        cast(tickets.created_at as date) as created_date
    from tickets
    inner join periods on tickets.ticket_id = periods.ticket_id
)

select
    *,
    case when crm_account_id is not null then {{ customer_key('crm_account_id', 'null') }} end as customer_key
from final
