{{ config(materialized='view') }}
-- One row per customer per as-of date that has been run: the columns of SPEC section 6 from int_customer_segments,
-- which keeps every date (re-running a date replaces that date and no other).
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
        city_tier,
        lead_source,
        first_order_date,
        last_order_date,
        tenure_days,
        orders_total,
        recency_days,
        frequency,
        monetary,
        annual_revenue,
        r_score,
        f_score,
        m_score,
        fm_score,
        rfm_cell,
        rfm_segment,
        rfm_segment_cn8,
        abc_class,
        value_tier,
        lifecycle_stage,
        campaign_responses_365d,
        campaign_engagement,
        tickets_365d,
        complaints_365d,
        avg_satisfaction_365d,
        service_risk,
        strategy_group,
        marketing_allowed,
        segment_rules_version,
        repeat_purchase_days,
        p_alive,
        expected_purchases_90d,
        expected_purchases_365d,
        expected_avg_value,
        predicted_clv_365d,
        potential_class
    from segments
)

select * from final
