{{ config(tags=['cross_db']) }}
-- int_div: whole-number division rounds down, exactly. Returns the cases that fail.
with cases as (
    select
        7 as given,
        3 as expected
    union all
    select
        6 as given,
        3 as expected
    union all
    select
        5 as given,
        2 as expected
),

results as (
    select
        given,
        expected,
        {{ int_div('given', '2') }} as actual
    from cases
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
