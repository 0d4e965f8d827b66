{#- The segment dimensions the summary and the transitions count over. -#}
{% macro segment_dimensions() -%}
    {{ return([
        'strategy_group', 'rfm_segment', 'rfm_segment_cn8', 'abc_class', 'value_tier', 'lifecycle_stage',
        'campaign_engagement', 'potential_class',
    ]) }}
{%- endmacro %}

{#- SPEC section 9: the dimensions segment_outcomes reports on, and the outcome windows' horizons in days. -#}
{% macro outcome_dimensions() -%}
    {{ return(['strategy_group', 'rfm_segment', 'lifecycle_stage', 'value_tier', 'abc_class', 'potential_class']) }}
{%- endmacro %}

{% macro outcome_horizons() -%}
    {{ return([30, 90, 180]) }}
{%- endmacro %}
