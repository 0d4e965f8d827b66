{{ config(tags=['cross_db']) }}
-- try_cast: a value of the type, or null when the text cannot be read as one. Returns the cases that fail.
with cases as (
    select
        '12.50' as given,
        cast(12.50 as decimal(18, 2)) as expected
    union all
    select
        'twelve' as given,
        null as expected
),

results as (
    select
        given,
        expected,
        {{ try_cast('given', 'decimal(18, 2)') }} as actual
    from cases
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
