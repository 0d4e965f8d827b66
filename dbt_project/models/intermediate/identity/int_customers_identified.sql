-- One row per customer per as-of date D: every CRM account in the history, and every ERP customer that joined no
-- account at the end of D, with the lowest ERP code linked to it on D. Identity only; which customers count on D,
-- and their attributes then, are worked out from here.
with dates as (
    select * from {{ ref('int_as_of_dates') }}
),

erp_links as (
    select
        dates.as_of_date,
        links.customer_code,
        links.crm_account_id,
        links.customer_key
    from {{ ref('int_erp_customers_linked') }} as links
    inner join dates on {{ valid_on('links', 'dates.as_of_date') }}
),

accounts as (
    -- the creation date the current version gives
    select
        account_id,
        created_date
    from {{ ref('int_crm_account_versions') }}
    where valid_to is null
),

erp_customers as (
    select
        customer_code,
        created_date
    from {{ ref('int_erp_customer_versions') }}
    where valid_to is null
),

lowest_code as (
    select
        as_of_date,
        crm_account_id,
        min(customer_code) as erp_customer_code
    from erp_links
    where crm_account_id is not null
    group by as_of_date, crm_account_id
),

crm_customers as (
    select
        dates.as_of_date,
        {{ customer_key('accounts.account_id', 'null') }} as customer_key,
        accounts.account_id as crm_account_id,
        lowest_code.erp_customer_code,
        accounts.created_date
    from accounts
    cross join dates
    left join lowest_code on dates.as_of_date = lowest_code.as_of_date and accounts.account_id = lowest_code.crm_account_id
),

erp_only_customers as (
    select
        erp_links.as_of_date,
        erp_links.customer_key,
        null as crm_account_id,
        erp_links.customer_code as erp_customer_code,
        erp_customers.created_date
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
