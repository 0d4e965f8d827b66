-- One row per customer: every CRM account, and every ERP customer that joins no account.
-- Identity only; the attributes as they were on each as-of date are in int_customer_attributes.
with accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

erp_links as (
    select * from {{ ref('int_erp_customers_linked') }}
),

erp_customers as (
    select * from {{ ref('stg_erp__customers') }}
),

lowest_code as (
    select
        crm_account_id,
        min(customer_code) as erp_customer_code
    from erp_links
    where crm_account_id is not null
    group by crm_account_id
),

crm_customers as (
    select
        {{ customer_key('accounts.account_id', 'null') }} as customer_key,
        accounts.account_id as crm_account_id,
        lowest_code.erp_customer_code,
        cast(accounts.created_at as date) as created_date
    from accounts
    left join lowest_code on accounts.account_id = lowest_code.crm_account_id
),

erp_only_customers as (
    select
        erp_links.customer_key,
        null as crm_account_id,
        erp_customers.customer_code as erp_customer_code,
        cast(erp_customers.created_at as date) as created_date
    from erp_links
    inner join erp_customers on erp_links.customer_code = erp_customers.customer_code
    where erp_links.crm_account_id is null
),

final as (
    select * from crm_customers
    union all
    select * from erp_only_customers
)

select * from final
