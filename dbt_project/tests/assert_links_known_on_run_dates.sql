{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_as_of_dates'}}}) }}
-- ERP customers with an order on or before a run date, and tickets created on or before it, whose history
-- starts after that date: their earliest version, and the links it makes, stand in for what they were
-- then. Returns one row per run date and such ERP customer or ticket.
with dates as (
    select * from {{ ref('int_as_of_dates') }}
),

erp_customers as (
    select
        customer_code,
        min(history_from) as history_from
    from {{ ref('int_erp_customer_versions') }}
    group by customer_code
),

first_orders as (
    select
        customer_code,
        min(order_date) as first_order_date
    from {{ ref('stg_erp__sales_orders') }}
    group by customer_code
),

tickets as (
    select
        ticket_id,
        min(created_date) as created_date,
        min(history_from) as history_from
    from {{ ref('int_ticket_versions') }}
    group by ticket_id
)

select
    dates.as_of_date,
    'erp_customer' as subject,
    erp_customers.customer_code as subject_key
from erp_customers
inner join first_orders on erp_customers.customer_code = first_orders.customer_code
inner join dates on first_orders.first_order_date <= dates.as_of_date and erp_customers.history_from > dates.as_of_date
union all
select
    dates.as_of_date,
    'ticket' as subject,
    tickets.ticket_id as subject_key
from tickets
inner join dates on tickets.created_date <= dates.as_of_date and tickets.history_from > dates.as_of_date
