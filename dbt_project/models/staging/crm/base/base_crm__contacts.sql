-- One row per landed CRM contact row: typed, normalised, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('crm', 'contacts') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('crm', 'contacts') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['contact_id']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(
        source('crm', 'contacts'),
        ['contact_id'],
        [(ref('base_crm__accounts'), 'account_id', 'is_account_staged')]
    ) }}
),

texts as (
    select
        {{ text('contact_id') }} as contact_id,
        {{ text('account_id') }} as account_id,
        {{ text('full_name') }} as full_name,
        {{ normal_email('email') }} as email,
        {{ normal_phone('phone') }} as phone,
        {{ text('created_at') }} as created_at__text,
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
        {{ try_cast('updated_at__text', 'timestamptz') }} as updated_at
    from texts
),

ranked as {{ kept_if_incremental() }} (
    -- of the rows of one key, the newest change is staged and the others are duplicates
    {% call ranked_within_key('typed', ['contact_id']) %}
        order by updated_at desc nulls last, _loaded_at desc nulls last, full_name asc nulls last
    {% endcall %}
),

accounts as (
    -- the accounts the contacts name that are unknown or were rejected: a contact of a rejected account is rejected too
    {{ parent_exceptions(ref('base_crm__accounts'), 'account_id', named_by='typed') }}
),

linked as (
    -- whether the parents this row names exist, and whether they were staged
    select
        ranked.*,
        {{ parent_known('ranked.account_id', 'accounts') }} as is_account_known,
        {{ parent_staged('ranked.account_id', 'accounts') }} as is_account_staged
    from ranked
    left join accounts on ranked.account_id = accounts.account_id
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when contact_id is null then 'null_key:contact_id' end,
            case when contact_id is not null and key_rank > 1 then 'duplicate_key' end,
            case when account_id is null then 'missing_required:account_id' end,
            case when account_id is not null and not is_account_known then 'unknown_parent:account_id' end,
            case when not is_account_staged then 'rejected_parent:account_id' end,
            case when email is not null and not {{ full_match('email', format_pattern('email')) }} then 'invalid_format:email' end,
            case when phone is not null and not {{ full_match('phone', format_pattern('phone')) }} then 'invalid_format:phone' end,
            case when created_at__text is not null and created_at is null then 'invalid_type:created_at' end,
            case when updated_at__text is null then 'missing_required:updated_at' end,
            case when updated_at__text is not null and updated_at is null then 'invalid_type:updated_at' end,
            case when created_at > _loaded_at then 'future_date:created_at' end,
            case when updated_at > _loaded_at then 'future_date:updated_at' end,
            case when created_at > updated_at then 'created_at_after_updated_at' end
        ) as reject_reasons
    from linked
)

{{ texts_on_rejected_rows_only('checked', ['created_at__text', 'updated_at__text']) }}
