-- One row per customer for the latest as-of date in the history (a backfill of earlier dates does not replace it).
with history as (
    select * from {{ ref('customer_segments_history') }}
)

select *
from history
where as_of_date = (select max(as_of_date) from history)
