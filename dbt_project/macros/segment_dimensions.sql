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

{#- A row per dimension of `dimensions`, to cross join a relation with: `dimensions.dimension` names it, and
    dimension_value() reads that dimension's column of each row as it flows (a union of one select per dimension
    would read the relation once per dimension, and DuckDB keeps a relation read several times whole). -#}
{% macro dimension_rows(dimensions) -%}
    (values ('{{ dimensions | join("'), ('") }}')) as dimensions (dimension)
{%- endmacro %}

{#- The column `prefix ~ dimension` of the dimension a row of dimension_rows() names. -#}
{% macro dimension_value(dimensions, prefix) -%}
    case dimensions.dimension{% for dimension in dimensions %} when '{{ dimension }}' then {{ prefix ~ dimension }}{% endfor %} end
{%- endmacro %}
