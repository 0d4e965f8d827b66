-- One row per customer per as-of date D: its attributes as they were on D. They come from the version of
-- its CRM account (of its ERP customer, for a customer the ERP alone knows) valid at the end of D in the
-- history the snapshots keep. For a D before the first version the history holds, the earliest version
-- stands in, and is_from_later_state says so.
with customers as (
    select
        as_of_date,
        customer_key,
        crm_account_id,
        erp_customer_code
    from {{ ref('int_customers_identified') }}
),

account_versions as (
    select * from {{ ref('int_crm_account_versions') }}
),

erp_versions as (
    select * from {{ ref('int_erp_customer_versions') }}
),

from_accounts as (
    select
        customers.as_of_date,
        customers.customer_key,
        accounts.customer_type,
        accounts.industry,
        accounts.company_size,
        accounts.ownership,
        accounts.province,
        accounts.city,
        accounts.city_tier,
        accounts.lead_source,
        accounts.marketing_consent,
        coalesce(accounts.is_deleted, false) as is_deleted,
        customers.as_of_date < accounts.history_from as is_from_later_state
    from customers
    inner join account_versions as accounts
        on customers.crm_account_id = accounts.account_id and {{ valid_on('accounts', 'customers.as_of_date') }}
),

from_erp as (
    select
        customers.as_of_date,
        customers.customer_key,
        null as customer_type,
        null as industry,
        null as company_size,
        null as ownership,
        erp.province,
        erp.city,
        cast(null as integer) as city_tier,
        null as lead_source,
        cast(null as boolean) as marketing_consent,
        false as is_deleted,
        customers.as_of_date < erp.history_from as is_from_later_state
    from customers
    inner join erp_versions as erp
        on customers.erp_customer_code = erp.customer_code and {{ valid_on('erp', 'customers.as_of_date') }}
    where customers.crm_account_id is null
),

final as (
    select * from from_accounts
    union all
    select * from from_erp
)

select * from final
