{{ config(materialized='view') }}
-- One row per staged sales order, with the customer it belongs to.
with orders as (
    select * from {{ ref('stg_erp__sales_orders') }}
),

erp_links as (
    select
        customer_code,
        customer_key
    from {{ ref('int_erp_customers_linked') }}
),

final as (
    select
        orders.order_id,
        erp_links.customer_key,
        orders.customer_code,
        orders.order_date,
        orders.status,
        orders.total_amount,
        orders.status = 'completed' as is_counted
    from orders
    inner join erp_links on orders.customer_code = erp_links.customer_code
)

select * from final
