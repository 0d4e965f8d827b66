{{ config(tags=['cross_db']) }}
-- days_between: whole days from one date to a later one, across a leap day. Returns the cases that fail.
with cases as (
    select
        date '2024-02-28' as given,
        2 as expected
    union all
    select
        date '2023-03-01' as given,
        366 as expected
),

results as (
    select
        given,
        expected,
        {{ days_between('given', "date '2024-03-01'") }} as actual
    from cases
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
