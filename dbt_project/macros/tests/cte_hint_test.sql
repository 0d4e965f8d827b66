{#- The test of a CTE hint (materialized_cte, inlined_cte): a CTE written with it is read as any CTE, by each query
    that names it, here twice. Returns the cases that fail. -#}
{% macro cte_hint_test(hint) -%}
    with cases as {{ hint }} (
        select
            1 as given,
            1 as expected
        union all
        select
            2 as given,
            2 as expected
    ),

    results as (
        -- the cases read twice: each case counts the cases up to it
        select
            cases.given,
            cases.expected,
            count(*) as actual
        from cases
        inner join cases as again on cases.given >= again.given
        group by cases.given, cases.expected
    )

    select * from results
    where not coalesce(actual = expected, actual is null and expected is null)
{%- endmacro %}
