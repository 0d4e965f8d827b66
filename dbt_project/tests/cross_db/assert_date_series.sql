{{ config(tags=['cross_db']) }}
-- date_series: every day from the first to the last, both included, as dates. Returns a row if it is not so.
with series as (
    select as_of_date from {{ date_series('2024-02-27', '2024-03-01', 'as_of_date') }} as days
),

summary as (
    select
        count(*) as days,
        count(distinct as_of_date) as distinct_days,
        min(as_of_date) as first_day,
        max(as_of_date) as last_day
    from series
)

select * from summary
where not (days = 4 and distinct_days = 4 and first_day = date '2024-02-27' and last_day = date '2024-03-01')
