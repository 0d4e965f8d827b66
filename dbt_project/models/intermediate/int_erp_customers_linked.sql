-- One row per ERP customer per period its link held: the CRM account it joined by the ordered rules of SPEC
-- section 4 at the end of every day from valid_from (inclusive) to valid_to (exclusive; a null bound is
-- open), and the rule. The links are worked out from the versions of customers and accounts in the history,
-- so a past as-of date sees them as they were: an account not yet created, or an id, tax id, e-mail or
-- phone not yet entered, joins nothing. The first rule that finds any account decides; two or more is a
-- conflict, not a guess.
{% set rules = [('crm_account_id', 'account_id'), ('tax_id', 'tax_id'), ('email', 'email'), ('phone', 'phone')] %}
{% set linked_account = 'case when len(periods.matched_accounts) = 1 then periods.matched_accounts[1] end' %}
with customers as (
    {{ history_by_day('erp_customers_history', 'customer_code') }}
),

accounts as (
    -- an account joins from the day it was created
    {{ created_by_day('crm_accounts_history', 'account_id', ['account_id', 'tax_id', 'email', 'phone']) }}
),

matches as (
    {% for column, account_column in rules %}
        select
            customers.customer_code,
            {{ loop.index }} as rule_order,
            '{{ column }}' as rule,
            accounts.account_id,
            greatest(customers.valid_from, accounts.valid_from) as valid_from,
            least(customers.valid_to, accounts.valid_to) as valid_to
        from customers inner join accounts on customers.{{ column }} = accounts.{{ account_column }}
        {{ 'union all' if not loop.last }}
    {%- endfor %}
),

candidates as (
    -- while both versions held
    select * from matches
    where valid_from < valid_to
),

subjects as (
    select distinct customer_code from customers
),

periods as (
    {{ link_periods('subjects', 'candidates', 'customer_code') }}
),

final as (
    select
        periods.customer_code,
        {{ open_bounds('periods') }},
        {{ linked_account }} as crm_account_id,
        case when len(periods.matched_accounts) = 1 then periods.rule end as link_rule,
        coalesce(len(periods.matched_accounts) > 1, false) as is_conflict,
        case when len(periods.matched_accounts) > 1 then periods.rule end as conflict_rule,
        case when len(periods.matched_accounts) > 1 then periods.matched_accounts end as conflict_accounts,
        {{ customer_key(linked_account, "periods.customer_code") }} as customer_key
    from periods
)

select * from final
