-- One row per customer for the latest as-of date in the history (a backfill of earlier dates does not replace it).
with history as (
    select * from {{ ref('customer_segments_history') }}
),

latest as (
    select max(as_of_date) as as_of_date from history
)

select history.*
from history
inner join latest on history.as_of_date = latest.as_of_date
