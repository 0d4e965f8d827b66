-- One row per ticket that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_service__tickets')) }}
),

staged as (
    select
        ticket_id,
        crm_account_id,
        customer_email,
        customer_phone,
        channel,
        ticket_type,
        priority,
        status,
        created_at,
        resolved_at,
        satisfaction_score,
        updated_at,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
