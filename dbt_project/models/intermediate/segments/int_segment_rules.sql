-- One row: segment_rules_version, a short hash of the effective thresholds and the rule seeds.
{% set vars_json = tojson(segment_rule_vars(), sort_keys=true) %}
with seed_rows as (
    -- every row of every rule seed, as text
    select
        'rfm_segment_grid' as seed,
        {{ record_key(['r_score', 'fm_score', 'rfm_segment', 'label_en', 'label_zh']) }} as content
    from {{ ref('rfm_segment_grid') }}
    union all
    select
        'rfm_cn8_types' as seed,
        {{ record_key(['r_high', 'f_high', 'm_high', 'rfm_segment_cn8', 'label_en', 'label_zh']) }} as content
    from {{ ref('rfm_cn8_types') }}
    union all
    select
        'strategy_playbook' as seed,
        {{ record_key(['strategy_group', 'label_en', 'label_zh', 'actions_en', 'actions_zh', 'resource_share']) }} as content
    from {{ ref('strategy_playbook') }}
    union all
    select
        'value_tier_playbook' as seed,
        {{ record_key(['value_tier', 'label_en', 'label_zh', 'actions_en', 'actions_zh']) }} as content
    from {{ ref('value_tier_playbook') }}
    union all
    select
        'lifecycle_playbook' as seed,
        {{ record_key(['lifecycle_stage', 'stage_order', 'label_en', 'label_zh', 'actions_en', 'actions_zh']) }} as content
    from {{ ref('lifecycle_playbook') }}
),

seeds as (
    select {{ sorted_string_agg("seed || ':' || content", ';') }} as content
    from seed_rows
),

final as (
    select
        left(md5('{{ vars_json }}' || '|' || seeds.content), 12) as segment_rules_version,
        '{{ vars_json }}' as effective_vars
    from seeds
)

select * from final
