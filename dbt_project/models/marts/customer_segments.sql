{{ config(materialized='view') }}
-- One row per customer for the latest as-of date in the history (a backfill of earlier dates does not replace it).
-- A view: the history keeps the rows, and a night does not write them twice (the publish copies them once).
-- The history is read where it is named (a CTE named twice would be computed whole once, every date of it).
with latest as (
    select max(as_of_date) as as_of_date from {{ ref('customer_segments_history') }}
)

select history.*
from {{ ref('customer_segments_history') }} as history
inner join latest on history.as_of_date = latest.as_of_date
