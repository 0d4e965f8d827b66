{#- Incremental identity: a subject's link periods (int_link_periods) follow from its candidates alone, and are worked
    out again only for the subjects whose candidates changed. -#}

{#- int_link_periods: a candidate of a subject as text, for the fingerprint of its candidates. -#}
{% macro candidate_text() -%}
    concat_ws(
        '|',
        coalesce(cast(rule_order as {{ string_type() }}), ''),
        coalesce(match_rule, ''),
        coalesce(account_id, ''),
        cast(valid_from as {{ string_type() }}),
        cast(valid_to as {{ string_type() }})
    )
{%- endmacro %}

{#- int_link_periods' pre-hook: forget the subjects that have no candidate any more. -#}
{% macro forget_gone_subjects() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as kept
        where not exists (
            select 1 from {{ ref('int_link_candidates') }} as candidates
            where candidates.subject = kept.subject and candidates.subject_key = kept.subject_key
        )
    {%- endif -%}
{%- endmacro %}
