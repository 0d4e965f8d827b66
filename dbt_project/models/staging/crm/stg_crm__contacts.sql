-- One row per CRM contact that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_crm__contacts')) }}
),

staged as (
    select
        contact_id,
        account_id,
        full_name,
        email,
        phone,
        created_at,
        updated_at,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
