-- One row per as-of date this run builds (var as_of_date, or as_of_start .. as_of_end).
with dates as (
    select as_of_date from {{ date_series(as_of_start(), as_of_end(), 'as_of_date') }} as series
)

select * from dates
