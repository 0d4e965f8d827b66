-- One row per customer per as-of date D: its attributes as they were on D. They come from the version of
-- its CRM account (of its ERP customer, for a customer the ERP alone knows) valid at the end of D in the
-- history the snapshots keep. For a D before the first version the history holds, the earliest version
-- stands in, and is_from_later_state says so.
with dates as (
    select * from {{ ref('int_as_of_dates') }}
),

customers as (
    select
        customer_key,
        crm_account_id,
        erp_customer_code
    from {{ ref('int_customers_identified') }}
),

account_versions as (
    select
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
        accounts.dbt_valid_from
    from customers
    inner join {{ ref('crm_accounts_history') }} as accounts on customers.crm_account_id = accounts.account_id
),

erp_versions as (
    select
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
        erp.dbt_valid_from
    from customers
    inner join {{ ref('erp_customers_history') }} as erp on customers.erp_customer_code = erp.customer_code
    where customers.crm_account_id is null
),

versions as (
    select * from account_versions
    union all
    select * from erp_versions
),

candidates as (
    select
        dates.as_of_date,
        versions.*,
        cast(versions.dbt_valid_from as date) > dates.as_of_date as is_from_later_state
    from versions
    cross join dates
),

final as (
    select * exclude (dbt_valid_from)
    from candidates
    -- the latest version valid by the end of D; when none is, the earliest version there is
    qualify row_number() over (
        partition by as_of_date, customer_key
        order by
            is_from_later_state asc,
            case when not is_from_later_state then dbt_valid_from end desc,
            dbt_valid_from asc
    ) = 1
)

select * from final
