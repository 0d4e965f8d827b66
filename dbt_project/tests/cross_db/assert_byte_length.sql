{{ config(tags=['cross_db']) }}
-- byte_length: bytes, not characters: a Chinese character takes three. Returns the cases that fail.
with cases as (
    select
        'abc' as given,
        3 as expected
    union all
    select
        '客户' as given,
        6 as expected
),

results as (
    select
        given,
        expected,
        {{ byte_length('given') }} as actual
    from cases
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
