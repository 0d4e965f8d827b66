-- One row per landed ERP customer row: typed, normalised, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('erp', 'customers') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('erp', 'customers') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['customer_code']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(source('erp', 'customers'), ['customer_code']) }}
),

texts as (
    select
        {{ text('customer_code') }} as customer_code,
        {{ text('customer_name') }} as customer_name,
        upper({{ text('tax_id') }}) as tax_id,
        {{ normal_email('email') }} as email,
        {{ normal_phone('phone') }} as phone,
        {{ text('crm_account_id') }} as crm_account_id,
        {{ text('province') }} as province,
        {{ text('city') }} as city,
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

ranked as (
    -- of the rows of one key, the newest change is staged and the others are duplicates
    {% call ranked_within_key('typed', ['customer_code']) %}
        order by updated_at desc nulls last, _loaded_at desc nulls last, customer_name asc nulls last
    {% endcall %}
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when customer_code is null then 'null_key:customer_code' end,
            case when customer_code is not null and key_rank > 1 then 'duplicate_key' end,
            case when customer_name is null then 'missing_required:customer_name' end,
            case when tax_id is not null and not {{ valid_tax_id('tax_id') }} then 'invalid_format:tax_id' end,
            case when email is not null and not {{ full_match('email', format_pattern('email')) }} then 'invalid_format:email' end,
            case when phone is not null and not {{ full_match('phone', format_pattern('phone')) }} then 'invalid_format:phone' end,
            case when created_at__text is not null and created_at is null then 'invalid_type:created_at' end,
            case when updated_at__text is null then 'missing_required:updated_at' end,
            case when updated_at__text is not null and updated_at is null then 'invalid_type:updated_at' end,
            case when created_at > _loaded_at then 'future_date:created_at' end,
            case when updated_at > _loaded_at then 'future_date:updated_at' end,
            case when created_at > updated_at then 'created_at_after_updated_at' end
        ) as reject_reasons
    from ranked
)

{{ texts_on_rejected_rows_only('checked', ['created_at__text', 'updated_at__text']) }}
