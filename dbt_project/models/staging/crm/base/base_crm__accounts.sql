-- One row per landed CRM account row: typed, normalised, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('crm', 'accounts') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('crm', 'accounts') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['account_id']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(source('crm', 'accounts'), ['account_id']) }}
),

texts as (
    select
        {{ text('account_id') }} as account_id,
        {{ text('account_name') }} as account_name,
        lower({{ text('customer_type') }}) as customer_type,
        {{ text('industry') }} as industry,
        lower({{ text('company_size') }}) as company_size,
        lower({{ text('ownership') }}) as ownership,
        {{ text('province') }} as province,
        {{ text('city') }} as city,
        {{ text('city_tier') }} as city_tier__text,
        upper({{ text('tax_id') }}) as tax_id,
        {{ normal_email('email') }} as email,
        {{ normal_phone('phone') }} as phone,
        lower({{ text('lead_source') }}) as lead_source,
        {{ text('marketing_consent') }} as marketing_consent__text,
        {{ text('created_at') }} as created_at__text,
        {{ text('updated_at') }} as updated_at__text,
        {{ text('is_deleted') }} as is_deleted__text,
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
        {{ as_integer('city_tier__text') }} as city_tier,
        {{ as_boolean('marketing_consent__text') }} as marketing_consent,
        {{ try_cast('created_at__text', 'timestamptz') }} as created_at,
        {{ try_cast('updated_at__text', 'timestamptz') }} as updated_at,
        {{ as_boolean('is_deleted__text') }} as is_deleted
    from texts
),

ranked as (
    -- of the rows of one key, the newest change is staged and the others are duplicates
    {% call ranked_within_key('typed', ['account_id']) %}
        order by updated_at desc nulls last, _loaded_at desc nulls last, account_name asc nulls last
    {% endcall %}
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when account_id is null then 'null_key:account_id' end,
            case when account_id is not null and key_rank > 1 then 'duplicate_key' end,
            case when account_name is null then 'missing_required:account_name' end,
            case when customer_type is null then 'missing_required:customer_type' end,
            case when customer_type not in {{ accepted_values('crm.accounts', 'customer_type') }} then 'unknown_value:customer_type' end,
            case when company_size not in {{ accepted_values('crm.accounts', 'company_size') }} then 'unknown_value:company_size' end,
            case when ownership not in {{ accepted_values('crm.accounts', 'ownership') }} then 'unknown_value:ownership' end,
            case when lead_source not in {{ accepted_values('crm.accounts', 'lead_source') }} then 'unknown_value:lead_source' end,
            case when city_tier__text is not null and city_tier is null then 'invalid_type:city_tier' end,
            case when not {{ in_range('crm.accounts', 'city_tier') }} then 'out_of_range:city_tier' end,
            case when tax_id is not null and not {{ valid_tax_id('tax_id') }} then 'invalid_format:tax_id' end,
            case when email is not null and not {{ full_match('email', format_pattern('email')) }} then 'invalid_format:email' end,
            case when phone is not null and not {{ full_match('phone', format_pattern('phone')) }} then 'invalid_format:phone' end,
            case when marketing_consent__text is not null and marketing_consent is null then 'invalid_type:marketing_consent' end,
            case when is_deleted__text is not null and is_deleted is null then 'invalid_type:is_deleted' end,
            case when created_at__text is null then 'missing_required:created_at' end,
            case when created_at__text is not null and created_at is null then 'invalid_type:created_at' end,
            case when updated_at__text is null then 'missing_required:updated_at' end,
            case when updated_at__text is not null and updated_at is null then 'invalid_type:updated_at' end,
            case when created_at > _loaded_at then 'future_date:created_at' end,
            case when updated_at > _loaded_at then 'future_date:updated_at' end,
            case when created_at > updated_at then 'created_at_after_updated_at' end
        ) as reject_reasons
    from ranked
)

{{ texts_on_rejected_rows_only('checked', [
    'city_tier__text',
    'marketing_consent__text',
    'created_at__text',
    'updated_at__text',
    'is_deleted__text'
]) }}
