-- One row per landed CRM account row: typed, normalised, with the reasons it cannot be staged.
with source as (
    select * from {{ source('crm', 'accounts') }}
),

typed as (
    select
        {{ text('account_id') }} as account_id,
        {{ text('account_name') }} as account_name,
        lower({{ text('customer_type') }}) as customer_type,
        {{ text('industry') }} as industry,
        lower({{ text('company_size') }}) as company_size,
        lower({{ text('ownership') }}) as ownership,
        {{ text('province') }} as province,
        {{ text('city') }} as city,
        {{ typed('city_tier', 'integer') }},
        upper({{ text('tax_id') }}) as tax_id,
        {{ normal_email('email') }} as email,
        {{ normal_phone('phone') }} as phone,
        lower({{ text('lead_source') }}) as lead_source,
        {{ typed('marketing_consent', 'boolean') }},
        {{ typed('created_at', 'timestamptz') }},
        {{ typed('updated_at', 'timestamptz') }},
        {{ typed('is_deleted', 'boolean') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        *,
        {{ reasons([
            ("account_id is null", "null_key:account_id"),
            ("account_id is not null and " ~ duplicate("account_id", "updated_at desc nulls last, _loaded_at desc, account_name"), "duplicate_key"),
            ("account_name is null", "missing_required:account_name"),
            ("customer_type is null", "missing_required:customer_type"),
            ("customer_type not in ('individual', 'enterprise', 'institution')", "unknown_value:customer_type"),
            ("company_size not in ('large', 'medium', 'small', 'micro')", "unknown_value:company_size"),
            ("ownership not in ('state_owned', 'private', 'foreign', 'joint_venture', 'public_institution')", "unknown_value:ownership"),
            ("lead_source not in ('advertising', 'social_media', 'trade_show', 'referral', 'website', 'cold_call')", "unknown_value:lead_source"),
            (bad_type("city_tier"), "invalid_type:city_tier"),
            ("city_tier not between 1 and 5", "out_of_range:city_tier"),
            (bad_tax_id("tax_id"), "invalid_format:tax_id"),
            (bad_email("email"), "invalid_format:email"),
            (bad_phone("phone"), "invalid_format:phone"),
            (bad_type("marketing_consent"), "invalid_type:marketing_consent"),
            (bad_type("is_deleted"), "invalid_type:is_deleted"),
            ("created_at__text is null", "missing_required:created_at"),
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
