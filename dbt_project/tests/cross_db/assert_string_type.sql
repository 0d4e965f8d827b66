{{ config(tags=['cross_db']) }}
-- string_type: numbers cast to the text type read as their digits. Returns the cases that fail.
with cases as (
    select
        545 as given,
        '545' as expected
),

results as (
    select
        given,
        expected,
        cast(given as {{ string_type() }}) as actual
    from cases
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
