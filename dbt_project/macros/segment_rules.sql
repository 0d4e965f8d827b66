{#- The thresholds of SPEC section 5 that shape the segments (not the as-of dates). -#}
{% macro segment_rule_vars() -%}
    {%- set names = [
        'rfm_window_days', 'abc_a_share', 'abc_b_share', 'strategic_revenue', 'strategic_tenure_days',
        'key_revenue', 'churned_days', 'declining_days', 'new_days', 'loyal_orders', 'loyal_tenure_days',
        'interaction_window_days', 'engagement_low_max', 'engagement_medium_max', 'risk_complaints',
        'risk_satisfaction', 'clv_change_share', 'clv_min_customers',
    ] -%}
    {%- set values = {} -%}
    {%- for name in names -%}
        {%- do values.update({name: var(name)}) -%}
    {%- endfor -%}
    {{ return(values) }}
{%- endmacro %}
