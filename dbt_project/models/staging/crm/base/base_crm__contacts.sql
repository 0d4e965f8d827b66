-- One row per landed CRM contact row: typed, normalised, with the reasons it cannot be staged.
with source as (
    select * from {{ source('crm', 'contacts') }}
),

accounts as (
    {{ parent_rows('base_crm__accounts', 'account_id') }}
),

typed as (
    select
        {{ text('contact_id') }} as contact_id,
        {{ text('account_id') }} as account_id,
        {{ text('full_name') }} as full_name,
        {{ normal_email('email') }} as email,
        {{ normal_phone('phone') }} as phone,
        {{ typed('created_at', 'timestamptz') }},
        {{ typed('updated_at', 'timestamptz') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        typed.*,
        {{ reasons([
            ("contact_id is null", "null_key:contact_id"),
            ("contact_id is not null and " ~ duplicate("contact_id", "updated_at desc nulls last, _loaded_at desc, full_name"), "duplicate_key"),
            ("typed.account_id is null", "missing_required:account_id"),
            ("typed.account_id is not null and accounts.account_id is null", "unknown_account:account_id"),
            ("not accounts.is_accepted", "rejected_account:account_id"),
            (bad_email("email"), "invalid_format:email"),
            (bad_phone("phone"), "invalid_format:phone"),
            (bad_type("created_at"), "invalid_type:created_at"),
            ("updated_at__text is null", "missing_required:updated_at"),
            (bad_type("updated_at"), "invalid_type:updated_at"),
            (in_future("created_at"), "future_date:created_at"),
            (in_future("updated_at"), "future_date:updated_at"),
        ]) }} as reject_reasons
    from typed
    left join accounts on typed.account_id = accounts.account_id
)

select * from checked
