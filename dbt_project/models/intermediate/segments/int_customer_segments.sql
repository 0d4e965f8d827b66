{{ config(
    materialized='incremental', incremental_strategy='replace_dates', unique_key='as_of_date',
    on_schema_change='append_new_columns', full_refresh=false
) }}
-- One row per customer per as-of date that has been run: scores, every segment of SPEC section 5 and the rule that
-- placed the customer in its strategy group. Each run replaces the dates it builds and no other, so every table of
-- the latest date (customer_segments, strategy_assignments) is read from here alone. dbt_invocation_id says which
-- dbt build wrote a date: the publish copies only the dates whose build it has not published yet.
with features as {{ inlined_cte() }} (
    -- read twice (the ranks, then the rows they join back to) rather than copied once: at 1M customers a build of six
    -- dates took 14 s instead of 17
    select * from {{ ref('int_customer_features') }}
),

grid as (
    select * from {{ ref('rfm_segment_grid') }}
),

cn8_types as (
    select * from {{ ref('rfm_cn8_types') }}
),

rules as (
    select * from {{ ref('int_segment_rules') }}
),

predicted as (
    -- SPEC section 8, for the scored population; null where a model could not be fitted
    select * from {{ ref('int_customer_predictions') }}
),

ranked as (
    -- ranks in worse-to-better order over the scored population of each date
    select
        customer_key,
        as_of_date,
        count(*) over by_date as scored_customers,
        rank() over (partition by as_of_date order by recency_days desc nulls last) as r_rank,
        rank() over (partition by as_of_date order by frequency asc nulls last) as f_rank,
        rank() over (partition by as_of_date order by monetary asc nulls last) as m_rank,
        sum(recency_days) over by_date as recency_sum,
        sum(frequency) over by_date as frequency_sum,
        sum(monetary) over by_date as monetary_sum,
        coalesce(sum(monetary) over (
            partition by as_of_date order by monetary desc nulls last, customer_key asc nulls last
            rows between unbounded preceding and 1 preceding
        ), 0) as monetary_before,
        recency_days,
        frequency,
        monetary
    from features
    where is_scored
    window by_date as (partition by as_of_date)
),

scored as (
    select
        customer_key,
        as_of_date,
        least(5, 1 + {{ int_div('5 * (r_rank - 1)', 'greatest(scored_customers - 1, 1)') }}) as r_score,
        least(5, 1 + {{ int_div('5 * (f_rank - 1)', 'greatest(scored_customers - 1, 1)') }}) as f_score,
        least(5, 1 + {{ int_div('5 * (m_rank - 1)', 'greatest(scored_customers - 1, 1)') }}) as m_score,
        -- above or below the mean, compared exactly: x > sum / n  <=>  x * n > sum
        recency_days * scored_customers < recency_sum as r_high,
        frequency * scored_customers > frequency_sum as f_high,
        monetary * scored_customers > monetary_sum as m_high,
        case
            when monetary > 0 and monetary_before < {{ var('abc_a_share') }} * monetary_sum then 'A'
            when monetary > 0 and monetary_before < {{ var('abc_b_share') }} * monetary_sum then 'B'
            else 'C'
        end as abc_class
    from ranked
),

segmented as (
    select
        features.*,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        {{ int_div('scored.f_score + scored.m_score + 1', '2') }} as fm_score,
        cast(scored.r_score * 100 + scored.f_score * 10 + scored.m_score as {{ string_type() }}) as rfm_cell,
        scored.r_high,
        scored.f_high,
        scored.m_high,
        scored.abc_class,
        case
            when not features.is_scored then null
            when
                features.annual_revenue >= {{ var('strategic_revenue') }}
                and features.tenure_days >= {{ var('strategic_tenure_days') }} then 'strategic'
            when features.annual_revenue >= {{ var('key_revenue') }} then 'key'
            else 'ordinary'
        end as value_tier,
        case
            when not features.is_scored then 'prospect'
            when features.recency_days > {{ var('churned_days') }} then 'churned'
            when features.recency_days > {{ var('declining_days') }} then 'declining'
            when features.first_order_date > features.as_of_date - {{ var('new_days') }} then 'new'
            when
                features.orders_365d >= {{ var('loyal_orders') }}
                and features.tenure_days >= {{ var('loyal_tenure_days') }} then 'loyal'
            when features.orders_total >= 2 then 'repeat'
            else 'one_time'
        end as lifecycle_stage,
        case
            when features.campaign_responses_365d = 0 then 'none'
            when features.campaign_responses_365d <= {{ var('engagement_low_max') }} then 'low'
            when features.campaign_responses_365d <= {{ var('engagement_medium_max') }} then 'medium'
            else 'high'
        end as campaign_engagement,
        features.complaints_365d >= {{ var('risk_complaints') }}
        or coalesce(features.avg_satisfaction_365d <= {{ var('risk_satisfaction') }}, false) as service_risk
    from features
    left join scored on features.customer_key = scored.customer_key and features.as_of_date = scored.as_of_date
),

reasoned as (
    -- the strategy rules of SPEC section 5 in order: the first that holds places the customer
    select
        *,
        case
            when service_risk then 'service_risk'
            when lifecycle_stage in ('declining', 'churned') then 'lifecycle_' || lifecycle_stage
            when abc_class = 'A' then 'abc_class_a'
            when abc_class = 'B' then 'abc_class_b'
            when campaign_engagement in ('medium', 'high') then 'campaign_engagement_' || campaign_engagement
            when lifecycle_stage = 'prospect' then 'prospect'
            else 'no_other_rule'
        end as strategy_reason
    from segmented
),

placed as (
    select
        reasoned.*,
        grid.rfm_segment,
        cn8_types.rfm_segment_cn8,
        case
            when reasoned.strategy_reason in ('service_risk', 'lifecycle_declining', 'lifecycle_churned') then 'risk'
            when reasoned.strategy_reason = 'abc_class_a' then 'high_value'
            when reasoned.strategy_reason in ('abc_class_b', 'campaign_engagement_medium', 'campaign_engagement_high') then 'growth'
            else 'potential'
        end as strategy_group,
        rules.segment_rules_version,
        predicted.repeat_purchase_days,
        predicted.p_alive,
        predicted.expected_purchases_90d,
        predicted.expected_purchases_365d,
        predicted.expected_avg_value,
        predicted.predicted_clv_365d,
        predicted.potential_class
    from reasoned
    left join predicted on reasoned.customer_key = predicted.customer_key and reasoned.as_of_date = predicted.as_of_date
    left join grid on reasoned.r_score = grid.r_score and reasoned.fm_score = grid.fm_score
    left join cn8_types
        on
            reasoned.r_high = cn8_types.r_high
            and reasoned.f_high = cn8_types.f_high
            and reasoned.m_high = cn8_types.m_high
    cross join rules
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
        strategy_reason,
        marketing_allowed,
        segment_rules_version,
        '{{ invocation_id }}' as dbt_invocation_id,
        cast(repeat_purchase_days as integer) as repeat_purchase_days,
        cast(p_alive as double) as p_alive,
        cast(expected_purchases_90d as double) as expected_purchases_90d,
        cast(expected_purchases_365d as double) as expected_purchases_365d,
        cast(expected_avg_value as double) as expected_avg_value,
        cast(predicted_clv_365d as double) as predicted_clv_365d,
        potential_class
    from placed
)

select * from final
