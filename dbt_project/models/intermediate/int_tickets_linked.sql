-- One row per ticket per period in which its version and its link held: the ticket as it was (type,
-- satisfaction) and the customer it joined (crm_account_id, then the e-mail, then the phone of an account or
-- one of its contacts) at the end of every day from valid_from (inclusive) to valid_to (exclusive; a null
-- bound is open), and the rule. Tickets, accounts and contacts are taken from the history, so a past as-of
-- date sees them as they were: a rating entered later, or a contact added later, does not reach it.
with tickets as (
    {{ history_by_day('service_tickets_history', 'ticket_id') }}
),

subjects as (
    select distinct ticket_id from tickets
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

matches as (
    select
        tickets.ticket_id,
        1 as rule_order,
        'crm_account_id' as rule,
        accounts.account_id,
        greatest(tickets.valid_from, accounts.valid_from) as valid_from,
        least(tickets.valid_to, accounts.valid_to) as valid_to
    from tickets inner join accounts on tickets.crm_account_id = accounts.account_id
    union all
    select
        tickets.ticket_id,
        2 as rule_order,
        'email' as rule,
        contact_points.account_id,
        greatest(tickets.valid_from, contact_points.valid_from) as valid_from,
        least(tickets.valid_to, contact_points.valid_to) as valid_to
    from tickets inner join contact_points on tickets.customer_email = contact_points.email
    union all
    select
        tickets.ticket_id,
        3 as rule_order,
        'phone' as rule,
        contact_points.account_id,
        greatest(tickets.valid_from, contact_points.valid_from) as valid_from,
        least(tickets.valid_to, contact_points.valid_to) as valid_to
    from tickets inner join contact_points on tickets.customer_phone = contact_points.phone
),

candidates as (
    -- while both versions held
    select * from matches
    where valid_from < valid_to
),

periods as (
    {{ link_periods('subjects', 'candidates', 'ticket_id') }}
),

versioned as (
    -- a period of the link split where the ticket's own version changed
    select
        tickets.* exclude (valid_from, valid_to),
        periods.rule,
        periods.matched_accounts,
        greatest(tickets.valid_from, periods.valid_from) as valid_from,
        least(tickets.valid_to, periods.valid_to) as valid_to
    from tickets
    inner join periods
        on
            tickets.ticket_id = periods.ticket_id
            and tickets.valid_from < periods.valid_to
            and tickets.valid_to > periods.valid_from
),

final as (
    select
        versioned.ticket_id,
        {{ open_bounds('versioned') }},
        case when len(versioned.matched_accounts) = 1 then versioned.matched_accounts[1] end as crm_account_id,
        case when len(versioned.matched_accounts) = 1 then versioned.rule end as link_rule,
        coalesce(len(versioned.matched_accounts) > 1, false) as is_conflict,
        versioned.ticket_type,
        versioned.satisfaction_score,
        versioned.created_at,
        cast(versioned.created_at as date) as created_date
    from versioned
)

select
    *,
    case when crm_account_id is not null then {{ customer_key('crm_account_id', 'null') }} end as customer_key
from final
