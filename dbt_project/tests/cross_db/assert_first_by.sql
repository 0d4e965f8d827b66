{{ config(tags=['cross_db']) }}
-- first_by: the value of the row with the smallest order, in any row order, and null when that row's value is null
-- even if a later row has one. Returns the cases that fail.
with given as (
    select
        'later_rows_first' as case_name,
        cast(20 as double) as amount,
        2 as day_number,
        cast(10 as double) as expected
    union all
    select
        'later_rows_first' as case_name,
        cast(10 as double) as amount,
        1 as day_number,
        cast(10 as double) as expected
    union all
    select
        'first_is_null' as case_name,
        cast(null as double) as amount,
        1 as day_number,
        cast(null as double) as expected
    union all
    select
        'first_is_null' as case_name,
        cast(30 as double) as amount,
        2 as day_number,
        cast(null as double) as expected
),

results as (
    select
        case_name,
        max(expected) as expected,
        {{ first_by('amount', 'day_number') }} as actual
    from given
    group by case_name
)

select * from results
where not coalesce(actual = expected, actual is null and expected is null)
