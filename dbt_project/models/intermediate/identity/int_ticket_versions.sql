-- One row per version of a ticket that held at the end of at least one day, from the history snapshot: valid_from
-- (inclusive) to valid_to (exclusive), in days, null when open. The earliest version also stands in for the days
-- before the history starts (valid_from null); history_from keeps the day it really began.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='ticket_id',
    on_schema_change='append_new_columns'
) }}
with history as (
    select * from {{ ref('service_tickets_history') }}
    {{ versions_changed_since_last_build(ref('service_tickets_history'), 'ticket_id') }}
),

days as (
    select
        ticket_id,
        crm_account_id,
        customer_email,
        customer_phone,
        ticket_type,
        satisfaction_score,
        created_at,
        cast(created_at as date) as created_date,
        cast(dbt_valid_from as date) as history_from,
        {{ version_valid_from('ticket_id') }} as valid_from,
        cast(dbt_valid_to as date) as valid_to,
        _staged_at
    from history
),

final as (
    select * from days
    where {{ held_at_the_end_of_a_day() }}
)

select * from final
