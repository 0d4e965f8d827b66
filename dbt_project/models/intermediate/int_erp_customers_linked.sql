-- One row per ERP customer: the CRM account it joins by the ordered rules of SPEC section 4, and the rule.
-- The first rule that finds any account decides; if it finds two or more, that is a conflict, reported and not guessed.
{% set linked_account = 'case when len(first_rule.matched_accounts) = 1 then first_rule.matched_accounts[1] end' %}
with customers as (
    select * from {{ ref('stg_erp__customers') }}
),

accounts as (
    select
        account_id,
        tax_id,
        email,
        phone
    from {{ ref('stg_crm__accounts') }}
),

candidates as (
    select
        customers.customer_code,
        1 as rule_order,
        'crm_account_id' as rule,
        accounts.account_id
    from customers inner join accounts on customers.crm_account_id = accounts.account_id
    union all
    select
        customers.customer_code,
        2 as rule_order,
        'tax_id' as rule,
        accounts.account_id
    from customers inner join accounts on customers.tax_id = accounts.tax_id
    union all
    select
        customers.customer_code,
        3 as rule_order,
        'email' as rule,
        accounts.account_id
    from customers inner join accounts on customers.email = accounts.email
    union all
    select
        customers.customer_code,
        4 as rule_order,
        'phone' as rule,
        accounts.account_id
    from customers inner join accounts on customers.phone = accounts.phone
),

first_rule as (
    {{ first_matching_rule('candidates', 'customer_code') }}
),

final as (
    select
        customers.customer_code,
        {{ linked_account }} as crm_account_id,
        case when len(first_rule.matched_accounts) = 1 then first_rule.rule end as link_rule,
        coalesce(len(first_rule.matched_accounts) > 1, false) as is_conflict,
        case when len(first_rule.matched_accounts) > 1 then first_rule.rule end as conflict_rule,
        case when len(first_rule.matched_accounts) > 1 then first_rule.matched_accounts end as conflict_accounts,
        {{ customer_key(linked_account, "customers.customer_code") }} as customer_key
    from customers
    left join first_rule on customers.customer_code = first_rule.customer_code
)

select * from final
