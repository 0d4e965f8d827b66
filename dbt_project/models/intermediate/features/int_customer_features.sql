-- One row per customer per as-of date D: the customers as of D and what they did on or before D.
with dates as (
    select * from {{ ref('int_as_of_dates') }}
),

customers as (
    select * from {{ ref('int_customers_identified') }}
),

attributes as (
    -- as they were on each date, from the history
    select * from {{ ref('int_customer_attributes') }}
),

orders as (
    select * from {{ ref('int_orders_attributed') }}
),

population as (
    -- CRM accounts created on or before D and not deleted on D; every other customer with an order on or before D
    select
        customers.as_of_date,
        customers.customer_key,
        customers.crm_account_id,
        customers.erp_customer_code,
        attributes.customer_type,
        attributes.industry,
        attributes.company_size,
        attributes.ownership,
        attributes.province,
        attributes.city,
        attributes.city_tier,
        attributes.lead_source,
        attributes.marketing_consent,
        attributes.is_from_later_state
    from customers
    left join orders on customers.customer_key = orders.customer_key and customers.as_of_date = orders.as_of_date
    inner join attributes on customers.customer_key = attributes.customer_key and customers.as_of_date = attributes.as_of_date
    where
        not attributes.is_deleted
        and (customers.created_date <= customers.as_of_date and customers.crm_account_id is not null or orders.customer_key is not null)
),

counted as (
    select * from orders
    where orders_total > 0
),

responses as (
    -- counted per account first: the key is worked out once per account, not once per response
    select
        dates.as_of_date,
        {{ customer_key('responses.account_id', 'null') }} as customer_key,
        count(*) as campaign_responses_365d
    from {{ ref('stg_crm__campaign_responses') }} as responses
    inner join dates
        on
            cast(responses.responded_at as date) <= dates.as_of_date
            and cast(responses.responded_at as date) > dates.as_of_date - {{ var('interaction_window_days') }}
    where responses.response_type in ('clicked', 'registered', 'attended', 'converted')
    group by dates.as_of_date, responses.account_id
),

tickets as (
    select
        dates.as_of_date,
        tickets.customer_key,
        count(*) as tickets_365d,
        count(*) filter (where tickets.ticket_type = 'complaint') as complaints_365d,
        avg(tickets.satisfaction_score) as avg_satisfaction_365d
    from {{ ref('int_tickets_linked') }} as tickets
    inner join dates
        on
            {{ valid_on('tickets', 'dates.as_of_date') }}
            and tickets.created_date <= dates.as_of_date
            and tickets.created_date > dates.as_of_date - {{ var('interaction_window_days') }}
    where tickets.customer_key is not null
    group by dates.as_of_date, tickets.customer_key
),

final as (
    select
        population.customer_key,
        population.as_of_date,
        population.crm_account_id,
        -- the SPEC leaves prospects without an ERP code, even when a code is linked
        case when counted.customer_key is not null then population.erp_customer_code end as erp_customer_code,
        population.customer_type,
        population.industry,
        population.company_size,
        population.ownership,
        population.province,
        population.city,
        population.city_tier,
        population.lead_source,
        coalesce(population.marketing_consent, false) as marketing_allowed,
        counted.first_order_date,
        counted.last_order_date,
        {{ days_between('counted.first_order_date', 'population.as_of_date') }} as tenure_days,
        coalesce(counted.orders_total, 0) as orders_total,
        {{ days_between('counted.last_order_date', 'population.as_of_date') }} as recency_days,
        coalesce(counted.frequency, 0) as frequency,
        coalesce(counted.monetary, 0) as monetary,
        coalesce(counted.annual_revenue, 0) as annual_revenue,
        coalesce(counted.orders_365d, 0) as orders_365d,
        coalesce(responses.campaign_responses_365d, 0) as campaign_responses_365d,
        coalesce(tickets.tickets_365d, 0) as tickets_365d,
        coalesce(tickets.complaints_365d, 0) as complaints_365d,
        tickets.avg_satisfaction_365d,
        counted.customer_key is not null as is_scored,
        population.is_from_later_state
    from population
    left join counted on population.customer_key = counted.customer_key and population.as_of_date = counted.as_of_date
    left join responses on population.customer_key = responses.customer_key and population.as_of_date = responses.as_of_date
    left join tickets on population.customer_key = tickets.customer_key and population.as_of_date = tickets.as_of_date
)

select * from final
