-- One row per landed ERP customer row: typed, normalised, with the reasons it cannot be staged.
with source as (
    select * from {{ source('erp', 'customers') }}
),

typed as (
    select
        {{ text('customer_code') }} as customer_code,
        {{ text('customer_name') }} as customer_name,
        upper({{ text('tax_id') }}) as tax_id,
        {{ normal_email('email') }} as email,
        {{ normal_phone('phone') }} as phone,
        {{ text('crm_account_id') }} as crm_account_id,
        {{ text('province') }} as province,
        {{ text('city') }} as city,
        {{ typed('created_at', 'timestamptz') }},
        {{ typed('updated_at', 'timestamptz') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        *,
        {{ reasons([
            ("customer_code is null", "null_key:customer_code"),
            ("customer_code is not null and " ~ duplicate("customer_code", "updated_at desc nulls last, _loaded_at desc, customer_name"), "duplicate_key"),
            ("customer_name is null", "missing_required:customer_name"),
            (bad_tax_id("tax_id"), "invalid_format:tax_id"),
            (bad_email("email"), "invalid_format:email"),
            (bad_phone("phone"), "invalid_format:phone"),
            (bad_type("created_at"), "invalid_type:created_at"),
            ("updated_at__text is null", "missing_required:updated_at"),
            (bad_type("updated_at"), "invalid_type:updated_at"),
            (in_future("created_at"), "future_date:created_at"),
            (in_future("updated_at"), "future_date:updated_at"),
            ("created_at > updated_at", "created_after_updated"),
        ]) }} as reject_reasons
    from typed
)

select * from checked
