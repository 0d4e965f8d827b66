-- One row per way a subject (an ERP customer or a ticket) could join a CRM account, and when: the account a rule of
-- SPEC section 4 found while the subject's version and the account's (or contact's) version both held, from
-- valid_from (inclusive) to valid_to (exclusive), null when open. ERP customers join by CRM id, tax id, e-mail, phone;
-- tickets by CRM id, then the e-mail or phone of an account or one of its contacts. An account joins from the day it
-- was created, a contact from the day it was added. Every subject also has one row with no rule and no account over all
-- time, so that the days on which no rule finds an account are periods of their own.
{#- (the ERP customer's column, the account's), and (rule, the ticket's column, what it joins, its column), in order -#}
{% set erp_rules = [('crm_account_id', 'account_id'), ('tax_id', 'tax_id'), ('email', 'email'), ('phone', 'phone')] %}
{% set ticket_rules = [('crm_account_id', 'crm_account_id', 'accounts', 'account_id'),
                       ('email', 'customer_email', 'contact_points', 'email'),
                       ('phone', 'customer_phone', 'contact_points', 'phone')] %}
with erp_customers as (
    select
        customer_code,
        crm_account_id,
        tax_id,
        email,
        phone,
        coalesce(valid_from, {{ open_start() }}) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_erp_customer_versions') }}
),

tickets as (
    select
        ticket_id,
        crm_account_id,
        customer_email,
        customer_phone,
        coalesce(valid_from, {{ open_start() }}) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_ticket_versions') }}
),

accounts as (
    select
        account_id,
        tax_id,
        email,
        phone,
        greatest(coalesce(valid_from, {{ open_start() }}), coalesce(created_date, {{ open_start() }})) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_crm_account_versions') }}
),

contacts as (
    select
        account_id,
        email,
        phone,
        greatest(coalesce(valid_from, {{ open_start() }}), coalesce(created_date, {{ open_start() }})) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_crm_contact_versions') }}
),

contact_points as (
    -- a ticket reaches an account through the account's own e-mail and phone or those of its contacts
    select
        account_id,
        email,
        phone,
        valid_from,
        valid_to
    from accounts
    union all
    select
        account_id,
        email,
        phone,
        valid_from,
        valid_to
    from contacts
),

subjects as (
    select distinct
        'erp_customer' as subject,
        customer_code as subject_key
    from erp_customers
    union all
    select distinct
        'ticket' as subject,
        ticket_id as subject_key
    from tickets
),

matches as (
    {% for column, account_column in erp_rules %}
        select
            'erp_customer' as subject,
            erp_customers.customer_code as subject_key,
            {{ loop.index }} as rule_order,
            '{{ column }}' as match_rule,
            accounts.account_id,
            greatest(erp_customers.valid_from, accounts.valid_from) as valid_from,
            least(erp_customers.valid_to, accounts.valid_to) as valid_to
        from erp_customers inner join accounts on erp_customers.{{ column }} = accounts.{{ account_column }}
        union all
    {% endfor %}
    {% for rule, column, points, account_column in ticket_rules %}
        select
            'ticket' as subject,
            tickets.ticket_id as subject_key,
            {{ loop.index }} as rule_order,
            '{{ rule }}' as match_rule,
            {{ points }}.account_id,
            greatest(tickets.valid_from, {{ points }}.valid_from) as valid_from,
            least(tickets.valid_to, {{ points }}.valid_to) as valid_to
        from tickets inner join {{ points }} on tickets.{{ column }} = {{ points }}.{{ account_column }}
        union all
    {% endfor %}
    select
        subject,
        subject_key,
        null as rule_order,
        null as match_rule,
        null as account_id,
        {{ open_start() }} as valid_from,
        {{ open_end() }} as valid_to
    from subjects
),

final as (
    select
        subject,
        subject_key,
        cast(rule_order as integer) as rule_order,
        match_rule,
        account_id,
        nullif(valid_from, {{ open_start() }}) as valid_from,
        nullif(valid_to, {{ open_end() }}) as valid_to
    from matches
    -- while both versions held
    where valid_from < valid_to
)

select * from final
