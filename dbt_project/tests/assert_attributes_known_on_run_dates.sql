{{ config(severity='warn') }}
-- Customers whose attributes on a run date come from a later state: the date is before the history of
-- their CRM account (or ERP customer) starts, so the earliest version known stands in for it.
select
    as_of_date,
    customer_key
from {{ ref('int_customer_features') }}
where is_from_later_state
