-- One row per CRM account that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_crm__accounts')) }}
),

staged as (
    select
        account_id,
        account_name,
        customer_type,
        industry,
        company_size,
        ownership,
        province,
        city,
        city_tier,
        tax_id,
        email,
        phone,
        lead_source,
        marketing_consent,
        created_at,
        updated_at,
        is_deleted,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
