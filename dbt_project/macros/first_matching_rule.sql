{#- Identity: of the candidate links (key, rule_order, rule, account_id), the first rule
    that finds any account decides; the accounts it found, in order (two or more is a conflict). -#}
{% macro first_matching_rule(candidates, key) -%}
    select
        {{ key }},
        any_value(rule) as rule,
        list(distinct account_id order by account_id) as matched_accounts
    from (
        select * from {{ candidates }}
        qualify rule_order = min(rule_order) over (partition by {{ key }})
    ) as deciding
    group by {{ key }}
{%- endmacro %}
