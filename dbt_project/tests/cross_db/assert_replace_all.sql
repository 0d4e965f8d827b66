{{ config(tags=['cross_db']) }}
-- replace_all: every match is replaced, not only the first. Returns the cases that fail.
with cases as (
    select
        '+86 138-0013-8000' as given,
        '8613800138000' as expected
),

results as (
    select
        given,
        expected,
        {{ replace_all('given', '[^0-9]', '') }} as actual
    from cases
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
