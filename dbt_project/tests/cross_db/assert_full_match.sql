{{ config(tags=['cross_db']) }}
-- full_match: the whole value must match the pattern, not a part of it. Returns the cases that fail.
with cases as (
    select
        '13800138000' as given,
        true as expected
    union all
    select
        '138001380001' as given,
        false as expected
    union all
    select
        'a13800138000' as given,
        false as expected
),

results as (
    select
        given,
        expected,
        {{ full_match('given', '1[3-9][0-9]{9}') }} as actual
    from cases
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
