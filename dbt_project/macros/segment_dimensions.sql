{#- The segment dimensions the summary and the transitions count over. -#}
{% macro segment_dimensions() -%}
    {{ return([
        'strategy_group', 'rfm_segment', 'rfm_segment_cn8', 'abc_class', 'value_tier', 'lifecycle_stage',
        'campaign_engagement', 'potential_class',
    ]) }}
{%- endmacro %}
