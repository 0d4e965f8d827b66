-- One row per version of a CRM account that held at the end of at least one day, from the history snapshot: valid_from
-- (inclusive) to valid_to (exclusive), in days, null when open. The earliest version also stands in for the days
-- before the history starts (valid_from null); history_from keeps the day it really began.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='account_id',
    on_schema_change='append_new_columns'
) }}
with history as (
    select * from {{ ref('crm_accounts_history') }}
    {{ versions_changed_since_last_build(ref('crm_accounts_history'), 'account_id') }}
),

days as (
    select
        account_id,
        customer_type,
        industry,
        company_size,
        ownership,
        province,
        city,
        city_tier,
        lead_source,
        marketing_consent,
        is_deleted,
        tax_id,
        email,
        phone,
        cast(created_at as date) as created_date,
        cast(dbt_valid_from as date) as history_from,
        {{ version_valid_from('account_id') }} as valid_from,
        cast(dbt_valid_to as date) as valid_to,
        _staged_at
    from history
),

final as (
    select * from days
    where {{ held_at_the_end_of_a_day() }}
)

select * from final
