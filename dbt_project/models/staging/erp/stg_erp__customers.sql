-- One row per ERP customer that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_erp__customers')) }}
),

staged as (
    select
        customer_code,
        customer_name,
        tax_id,
        email,
        phone,
        crm_account_id,
        province,
        city,
        created_at,
        updated_at,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
