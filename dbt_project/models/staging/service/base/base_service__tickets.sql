-- One row per landed ticket row: typed, normalised, with the reasons it cannot be staged.
with source as (
    select * from {{ source('service', 'tickets') }}
),

typed as (
    select
        {{ text('ticket_id') }} as ticket_id,
        {{ text('crm_account_id') }} as crm_account_id,
        {{ normal_email('customer_email') }} as customer_email,
        {{ normal_phone('customer_phone') }} as customer_phone,
        lower({{ text('channel') }}) as channel,
        lower({{ text('ticket_type') }}) as ticket_type,
        lower({{ text('priority') }}) as priority,
        lower({{ text('status') }}) as status,
        {{ typed('created_at', 'timestamptz') }},
        {{ typed('resolved_at', 'timestamptz') }},
        {{ typed('satisfaction_score', 'integer') }},
        {{ typed('updated_at', 'timestamptz') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        *,
        {{ reasons([
            ("ticket_id is null", "null_key:ticket_id"),
            ("ticket_id is not null and " ~ duplicate("ticket_id", "coalesce(updated_at, created_at) desc nulls last, _loaded_at desc, status"), "duplicate_key"),
            ("crm_account_id is null and customer_email is null and customer_phone is null", "no_identifier"),
            ("channel not in ('phone', 'email', 'online_chat', 'wechat', 'onsite')", "unknown_value:channel"),
            ("ticket_type not in ('inquiry', 'complaint', 'repair', 'return_request', 'consultation')", "unknown_value:ticket_type"),
            ("priority not in ('low', 'normal', 'high', 'urgent')", "unknown_value:priority"),
            ("status not in ('open', 'resolved', 'closed')", "unknown_value:status"),
            (bad_email("customer_email"), "invalid_format:customer_email"),
            (bad_phone("customer_phone"), "invalid_format:customer_phone"),
            ("created_at__text is null", "missing_required:created_at"),
            (bad_type("created_at"), "invalid_type:created_at"),
            (in_future("created_at"), "future_date:created_at"),
            (bad_type("resolved_at"), "invalid_type:resolved_at"),
            (bad_type("satisfaction_score"), "invalid_type:satisfaction_score"),
            ("satisfaction_score not between 1 and 5", "out_of_range:satisfaction_score"),
            (bad_type("updated_at"), "invalid_type:updated_at"),
            ("resolved_at < created_at", "resolved_before_created"),
        ]) }} as reject_reasons
    from typed
)

select * from checked
