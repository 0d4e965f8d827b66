-- One row per as-of date this run builds (var as_of_date, or as_of_start .. as_of_end).
select cast(day as date) as as_of_date
from generate_series(date '{{ as_of_start() }}', date '{{ as_of_end() }}', interval 1 day) as dates (day)
