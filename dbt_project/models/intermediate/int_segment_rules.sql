-- One row: segment_rules_version, a short hash of the effective thresholds and the rule seeds.
with seeds as (
    select string_agg(grid::varchar, ';' order by r_score, fm_score) as content from {{ ref('rfm_segment_grid') }} as grid
    union all
    select string_agg(types::varchar, ';' order by rfm_segment_cn8) from {{ ref('rfm_cn8_types') }} as types
    union all
    select string_agg(playbook::varchar, ';' order by priority) from {{ ref('strategy_playbook') }} as playbook
    union all
    select string_agg(tiers::varchar, ';' order by value_tier) from {{ ref('value_tier_playbook') }} as tiers
    union all
    select string_agg(stages::varchar, ';' order by stage_order) from {{ ref('lifecycle_playbook') }} as stages
)

select
    left(md5('{{ tojson(segment_rule_vars(), sort_keys=true) }}' || string_agg(content, '|' order by content)), 12)
        as segment_rules_version,
    '{{ tojson(segment_rule_vars(), sort_keys=true) }}' as effective_vars
from seeds
