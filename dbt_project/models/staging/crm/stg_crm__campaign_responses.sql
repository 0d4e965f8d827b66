-- One row per campaign response that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_crm__campaign_responses')) }}
),

staged as (
    select
        response_id,
        campaign_id,
        account_id,
        response_type,
        responded_at,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
