-- One row per landed campaign response row: typed, with the reasons it cannot be staged.
with source as (
    select * from {{ source('crm', 'campaign_responses') }}
),

accounts as (
    {{ parent_rows('base_crm__accounts', 'account_id') }}
),

campaigns as (
    {{ parent_rows('base_crm__campaigns', 'campaign_id') }}
),

typed as (
    select
        {{ text('response_id') }} as response_id,
        {{ text('campaign_id') }} as campaign_id,
        {{ text('account_id') }} as account_id,
        lower({{ text('response_type') }}) as response_type,
        {{ typed('responded_at', 'timestamptz') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        typed.*,
        {{ reasons([
            ("response_id is null", "null_key:response_id"),
            ("response_id is not null and " ~ duplicate("response_id", "_loaded_at desc, responded_at desc"), "duplicate_key"),
            ("typed.campaign_id is null", "missing_required:campaign_id"),
            ("typed.campaign_id is not null and campaigns.campaign_id is null", "unknown_campaign:campaign_id"),
            ("not campaigns.is_accepted", "rejected_campaign:campaign_id"),
            ("typed.account_id is null", "missing_required:account_id"),
            ("typed.account_id is not null and accounts.account_id is null", "unknown_account:account_id"),
            ("not accounts.is_accepted", "rejected_account:account_id"),
            ("response_type is null", "missing_required:response_type"),
            ("response_type not in ('delivered', 'opened', 'clicked', 'registered', 'attended', 'converted')", "unknown_value:response_type"),
            ("responded_at__text is null", "missing_required:responded_at"),
            (bad_type("responded_at"), "invalid_type:responded_at"),
            (in_future("responded_at"), "future_date:responded_at"),
        ]) }} as reject_reasons
    from typed
    left join accounts on typed.account_id = accounts.account_id
    left join campaigns on typed.campaign_id = campaigns.campaign_id
)

select * from checked
