-- One row per landed campaign response row: typed, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('crm', 'campaign_responses') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('crm', 'campaign_responses') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['response_id']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(
        source('crm', 'campaign_responses'),
        ['response_id'],
        [
            (ref('base_crm__accounts'), 'account_id', 'is_account_staged'),
            (ref('base_crm__campaigns'), 'campaign_id', 'is_campaign_staged')
        ]
    ) }}
),

texts as (
    select
        {{ text('response_id') }} as response_id,
        {{ text('campaign_id') }} as campaign_id,
        {{ text('account_id') }} as account_id,
        lower({{ text('response_type') }}) as response_type,
        {{ text('responded_at') }} as responded_at__text,
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
        {{ try_cast('responded_at__text', 'timestamptz') }} as responded_at
    from texts
),

ranked as {{ kept_if_incremental() }} (
    -- of the rows of one key, the newest load is staged and the others are duplicates
    {% call ranked_within_key('typed', ['response_id']) %}
        order by _loaded_at desc nulls last, responded_at desc nulls last
    {% endcall %}
),

accounts as (
    -- the accounts the responses name that are unknown or were rejected: a response of a rejected account is rejected too
    {{ parent_exceptions(ref('base_crm__accounts'), 'account_id', named_by='typed') }}
),

campaigns as (
    -- likewise for campaigns
    {{ parent_exceptions(ref('base_crm__campaigns'), 'campaign_id', named_by='typed') }}
),

linked as (
    -- whether the parents this row names exist, and whether they were staged
    select
        ranked.*,
        {{ parent_known('ranked.account_id', 'accounts') }} as is_account_known,
        {{ parent_staged('ranked.account_id', 'accounts') }} as is_account_staged,
        {{ parent_known('ranked.campaign_id', 'campaigns') }} as is_campaign_known,
        {{ parent_staged('ranked.campaign_id', 'campaigns') }} as is_campaign_staged
    from ranked
    left join accounts on ranked.account_id = accounts.account_id
    left join campaigns on ranked.campaign_id = campaigns.campaign_id
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when response_id is null then 'null_key:response_id' end,
            case when response_id is not null and key_rank > 1 then 'duplicate_key' end,
            case when campaign_id is null then 'missing_required:campaign_id' end,
            case when campaign_id is not null and not is_campaign_known then 'unknown_parent:campaign_id' end,
            case when not is_campaign_staged then 'rejected_parent:campaign_id' end,
            case when account_id is null then 'missing_required:account_id' end,
            case when account_id is not null and not is_account_known then 'unknown_parent:account_id' end,
            case when not is_account_staged then 'rejected_parent:account_id' end,
            case
                when response_type not in {{ accepted_values('crm.campaign_responses', 'response_type') }}
                    then 'unknown_value:response_type'
            end,
            case when responded_at__text is null then 'missing_required:responded_at' end,
            case when responded_at__text is not null and responded_at is null then 'invalid_type:responded_at' end,
            case when responded_at > _loaded_at then 'future_date:responded_at' end
        ) as reject_reasons
    from linked
)

{{ texts_on_rejected_rows_only('checked', ['responded_at__text']) }}
