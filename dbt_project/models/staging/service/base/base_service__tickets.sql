-- One row per landed ticket row: typed, normalised, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('service', 'tickets') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('service', 'tickets') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['ticket_id']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(source('service', 'tickets'), ['ticket_id']) }}
),

texts as (
    select
        {{ text('ticket_id') }} as ticket_id,
        {{ text('crm_account_id') }} as crm_account_id,
        {{ normal_email('customer_email') }} as customer_email,
        {{ normal_phone('customer_phone') }} as customer_phone,
        lower({{ text('channel') }}) as channel,
        lower({{ text('ticket_type') }}) as ticket_type,
        lower({{ text('priority') }}) as priority,
        lower({{ text('status') }}) as status,
        {{ text('created_at') }} as created_at__text,
        {{ text('resolved_at') }} as resolved_at__text,
        {{ text('satisfaction_score') }} as satisfaction_score__text,
        {{ text('updated_at') }} as updated_at__text,
        _load_id,
        _loaded_at,
        {{ staged_at() }} as _staged_at,
        {{ appended() }} as _appended,
        record_key
    from scoped
),

typed as {{ inlined_cte() }} (
    select
        *,
        {{ try_cast('created_at__text', 'timestamptz') }} as created_at,
        {{ try_cast('resolved_at__text', 'timestamptz') }} as resolved_at,
        {{ as_integer('satisfaction_score__text') }} as satisfaction_score,
        {{ try_cast('updated_at__text', 'timestamptz') }} as updated_at
    from texts
),

ranked as (
    -- of the rows of one key, the newest change is staged and the others are duplicates
    {% call ranked_within_key('typed', ['ticket_id']) %}
        order by coalesce(updated_at, created_at) desc nulls last, _loaded_at desc nulls last, status asc nulls last
    {% endcall %}
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when ticket_id is null then 'null_key:ticket_id' end,
            case when ticket_id is not null and key_rank > 1 then 'duplicate_key' end,
            case when crm_account_id is null and customer_email is null and customer_phone is null then 'no_identifier' end,
            case
                when customer_email is not null and not {{ full_match('customer_email', format_pattern('email')) }}
                    then 'invalid_format:customer_email'
            end,
            case
                when customer_phone is not null and not {{ full_match('customer_phone', format_pattern('phone')) }}
                    then 'invalid_format:customer_phone'
            end,
            case when channel not in {{ accepted_values('service.tickets', 'channel') }} then 'unknown_value:channel' end,
            case when ticket_type not in {{ accepted_values('service.tickets', 'ticket_type') }} then 'unknown_value:ticket_type' end,
            case when priority not in {{ accepted_values('service.tickets', 'priority') }} then 'unknown_value:priority' end,
            case when status not in {{ accepted_values('service.tickets', 'status') }} then 'unknown_value:status' end,
            case when created_at__text is null then 'missing_required:created_at' end,
            case when created_at__text is not null and created_at is null then 'invalid_type:created_at' end,
            case when resolved_at__text is not null and resolved_at is null then 'invalid_type:resolved_at' end,
            case when satisfaction_score__text is not null and satisfaction_score is null then 'invalid_type:satisfaction_score' end,
            case when not {{ in_range('service.tickets', 'satisfaction_score') }} then 'out_of_range:satisfaction_score' end,
            case when updated_at__text is not null and updated_at is null then 'invalid_type:updated_at' end,
            case when created_at > _loaded_at then 'future_date:created_at' end,
            case when resolved_at > _loaded_at then 'future_date:resolved_at' end,
            case when updated_at > _loaded_at then 'future_date:updated_at' end,
            case when created_at > resolved_at then 'created_at_after_resolved_at' end,
            case when created_at > updated_at then 'created_at_after_updated_at' end
        ) as reject_reasons
    from ranked
)

{{ texts_on_rejected_rows_only('checked', [
    'created_at__text',
    'resolved_at__text',
    'satisfaction_score__text',
    'updated_at__text'
]) }}
