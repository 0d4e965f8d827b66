-- One row per ticket per period in which its version and its link held: the ticket as it was (type, satisfaction)
-- and the customer it joined (CRM id, then the e-mail, then the phone of an account or one of its contacts) at the
-- end of every day from valid_from (inclusive) to valid_to (exclusive; null when open), and the rule. A rating
-- entered later, or a contact added later, does not reach an earlier date.
with tickets as (
    select
        ticket_id,
        ticket_type,
        satisfaction_score,
        created_at,
        created_date,
        coalesce(valid_from, {{ open_start() }}) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_ticket_versions') }}
),

periods as (
    select
        subject_key as ticket_id,
        crm_account_id,
        link_rule,
        is_conflict,
        coalesce(valid_from, {{ open_start() }}) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_link_periods') }}
    where subject = 'ticket'
),

versioned as (
    -- a period of the link split where the ticket's own version changed
    select
        tickets.ticket_id,
        greatest(tickets.valid_from, periods.valid_from) as valid_from,
        least(tickets.valid_to, periods.valid_to) as valid_to,
        periods.crm_account_id,
        periods.link_rule,
        periods.is_conflict,
        tickets.ticket_type,
        tickets.satisfaction_score,
        tickets.created_at,
        tickets.created_date
    from tickets
    inner join periods
        on
            tickets.ticket_id = periods.ticket_id
            and tickets.valid_from < periods.valid_to
            and tickets.valid_to > periods.valid_from
),

final as (
    select
        ticket_id,
        nullif(valid_from, {{ open_start() }}) as valid_from,
        nullif(valid_to, {{ open_end() }}) as valid_to,
        crm_account_id,
        link_rule,
        is_conflict,
        ticket_type,
        satisfaction_score,
        created_at,
        created_date,
        case when crm_account_id is not null then {{ customer_key('crm_account_id', 'null') }} end as customer_key
    from versioned
)

select * from final
