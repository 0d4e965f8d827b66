-- One row per campaign that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_crm__campaigns')) }}
),

staged as (
    select
        campaign_id,
        campaign_name,
        campaign_type,
        channel,
        start_date,
        end_date,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
