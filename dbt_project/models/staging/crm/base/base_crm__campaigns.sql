-- One row per landed campaign row: typed, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('crm', 'campaigns') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('crm', 'campaigns') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['campaign_id']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(source('crm', 'campaigns'), ['campaign_id']) }}
),

texts as (
    select
        {{ text('campaign_id') }} as campaign_id,
        {{ text('campaign_name') }} as campaign_name,
        lower({{ text('campaign_type') }}) as campaign_type,
        lower({{ text('channel') }}) as channel,
        {{ text('start_date') }} as start_date__text,
        {{ text('end_date') }} as end_date__text,
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
        {{ as_date('start_date__text') }} as start_date,
        {{ as_date('end_date__text') }} as end_date
    from texts
),

ranked as (
    -- of the rows of one key, the newest load is staged and the others are duplicates
    {% call ranked_within_key('typed', ['campaign_id']) %}
        order by _loaded_at desc nulls last, campaign_name asc nulls last
    {% endcall %}
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when campaign_id is null then 'null_key:campaign_id' end,
            case when campaign_id is not null and key_rank > 1 then 'duplicate_key' end,
            case when campaign_type not in {{ accepted_values('crm.campaigns', 'campaign_type') }} then 'unknown_value:campaign_type' end,
            case when channel not in {{ accepted_values('crm.campaigns', 'channel') }} then 'unknown_value:channel' end,
            case when start_date__text is not null and start_date is null then 'invalid_type:start_date' end,
            case when end_date__text is not null and end_date is null then 'invalid_type:end_date' end,
            case when start_date > end_date then 'start_date_after_end_date' end
        ) as reject_reasons
    from ranked
)

{{ texts_on_rejected_rows_only('checked', ['start_date__text', 'end_date__text']) }}
