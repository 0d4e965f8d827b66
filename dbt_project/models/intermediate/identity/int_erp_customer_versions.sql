-- One row per version of an ERP customer that held at the end of at least one day, from the history snapshot: valid_from
-- (inclusive) to valid_to (exclusive), in days, null when open. The earliest version also stands in for the days
-- before the history starts (valid_from null); history_from keeps the day it really began.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='customer_code',
    on_schema_change='append_new_columns'
) }}
with history as (
    select * from {{ ref('erp_customers_history') }}
    {{ versions_changed_since_last_build(ref('erp_customers_history'), 'customer_code') }}
),

days as (
    select
        customer_code,
        crm_account_id,
        tax_id,
        email,
        phone,
        province,
        city,
        cast(created_at as date) as created_date,
        cast(dbt_valid_from as date) as history_from,
        {{ version_valid_from('customer_code') }} as valid_from,
        cast(dbt_valid_to as date) as valid_to,
        _staged_at
    from history
),

final as (
    select * from days
    where {{ held_at_the_end_of_a_day() }}
)

select * from final
