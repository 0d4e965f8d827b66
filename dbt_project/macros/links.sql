{#- Identity over time. The candidates (key, rule_order, rule, account_id, valid_from, valid_to) are
    the accounts a subject matched by a rule while both of their versions held. Between two bounds of
    the candidates the same ones hold; in each such period the first rule that finds any account
    decides, with the accounts it found, in order (two or more is a conflict). Neighbouring periods with
    the same outcome are merged. A subject of `subjects` that no candidate finds has one period,
    -infinity to infinity, with no rule and no accounts. -#}
{% macro link_periods(subjects, candidates, key) -%}
    with points as (
        select {{ key }}, date '-infinity' as point from {{ subjects }}
        union
        select {{ key }}, date 'infinity' as point from {{ subjects }}
        union
        select {{ key }}, valid_from as point from {{ candidates }}
        union
        select {{ key }}, valid_to as point from {{ candidates }}
    ),

    periods as (
        select *
        from (
            select
                {{ key }},
                point as valid_from,
                lead(point) over (partition by {{ key }} order by point) as valid_to
            from points
        ) as bounded
        where valid_to is not null
    ),

    covering as (
        select
            periods.{{ key }},
            periods.valid_from,
            candidates.rule_order,
            candidates.rule,
            candidates.account_id
        from periods
        inner join {{ candidates }} as candidates
            on periods.{{ key }} = candidates.{{ key }} and {{ valid_on('candidates', 'periods.valid_from') }}
        qualify candidates.rule_order = min(candidates.rule_order) over (partition by periods.{{ key }}, periods.valid_from)
    ),

    deciding as (
        select
            {{ key }},
            valid_from,
            any_value(rule) as rule,
            list(distinct account_id order by account_id) as matched_accounts
        from covering
        group by {{ key }}, valid_from
    ),

    outcomes as (
        select
            periods.*,
            deciding.rule,
            deciding.matched_accounts,
            lag(deciding.rule) over (partition by periods.{{ key }} order by periods.valid_from) as previous_rule,
            lag(deciding.matched_accounts) over (
                partition by periods.{{ key }} order by periods.valid_from
            ) as previous_accounts
        from periods
        left join deciding on periods.{{ key }} = deciding.{{ key }} and periods.valid_from = deciding.valid_from
    ),

    islands as (
        -- a new island starts wherever the outcome differs from the period before
        select
            *,
            sum(
                case when previous_rule is not distinct from rule and previous_accounts is not distinct from matched_accounts then 0 else 1 end
            ) over (partition by {{ key }} order by valid_from) as island
        from outcomes
    )

    select
        {{ key }},
        min(valid_from) as valid_from,
        max(valid_to) as valid_to,
        any_value(rule) as rule,
        any_value(matched_accounts) as matched_accounts
    from islands
    group by {{ key }}, island
{%- endmacro %}
