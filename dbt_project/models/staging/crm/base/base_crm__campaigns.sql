-- One row per landed campaign row: typed, with the reasons it cannot be staged.
with source as (
    select * from {{ source('crm', 'campaigns') }}
),

typed as (
    select
        {{ text('campaign_id') }} as campaign_id,
        {{ text('campaign_name') }} as campaign_name,
        lower({{ text('campaign_type') }}) as campaign_type,
        lower({{ text('channel') }}) as channel,
        {{ typed('start_date', 'date') }},
        {{ typed('end_date', 'date') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        *,
        {{ reasons([
            ("campaign_id is null", "null_key:campaign_id"),
            ("campaign_id is not null and " ~ duplicate("campaign_id", "_loaded_at desc, campaign_name"), "duplicate_key"),
            ("campaign_type not in ('promotion', 'product_launch', 'webinar', 'trade_show', 'newsletter')", "unknown_value:campaign_type"),
            ("channel not in ('email', 'sms', 'wechat', 'offline', 'web')", "unknown_value:channel"),
            (bad_type("start_date"), "invalid_type:start_date"),
            (bad_type("end_date"), "invalid_type:end_date"),
            ("start_date > end_date", "start_after_end"),
        ]) }} as reject_reasons
    from typed
)

select * from checked
