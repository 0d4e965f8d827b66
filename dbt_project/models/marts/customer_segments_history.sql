{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='as_of_date', on_schema_change='fail') }}
-- One row per customer per as-of date that has been run. Re-running a date replaces that date and no other.
with segments as (
    select * from {{ ref('int_customer_segments') }}
),

final as (
    select
        customer_key,
        crm_account_id,
        erp_customer_code,
        as_of_date,
        customer_type,
        industry,
        company_size,
        ownership,
        province,
        city,
        cast(city_tier as integer) as city_tier,
        lead_source,
        first_order_date,
        last_order_date,
        cast(tenure_days as integer) as tenure_days,
        cast(orders_total as integer) as orders_total,
        cast(recency_days as integer) as recency_days,
        cast(frequency as integer) as frequency,
        cast(monetary as decimal(18, 2)) as monetary,
        cast(annual_revenue as decimal(18, 2)) as annual_revenue,
        cast(r_score as integer) as r_score,
        cast(f_score as integer) as f_score,
        cast(m_score as integer) as m_score,
        cast(fm_score as integer) as fm_score,
        rfm_cell,
        rfm_segment,
        rfm_segment_cn8,
        abc_class,
        value_tier,
        lifecycle_stage,
        cast(campaign_responses_365d as integer) as campaign_responses_365d,
        campaign_engagement,
        cast(tickets_365d as integer) as tickets_365d,
        cast(complaints_365d as integer) as complaints_365d,
        cast(avg_satisfaction_365d as double) as avg_satisfaction_365d,
        service_risk,
        strategy_group,
        marketing_allowed,
        segment_rules_version
    from segments
)

select * from final
