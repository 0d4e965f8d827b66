-- One row per way a subject (an ERP customer or a ticket) could join a CRM account, and when: the account a rule of
-- SPEC section 4 found while the subject's version and the account's (or contact's) version both held, from
-- valid_from (inclusive) to valid_to (exclusive), null when open. ERP customers join by CRM id, tax id, e-mail, phone;
-- tickets by CRM id, then the e-mail or phone of an account or one of its contacts. An account joins from the day it
-- was created, a contact from the day it was added. Every subject also has one row with no rule and no account over all
-- time, so that the days on which no rule finds an account are periods of their own.
-- A subject's candidates follow from its versions and those of the accounts and contacts its values meet, so a night
-- works out again only the subjects whose versions changed since the last build (_staged_at, as the versions models)
-- or that share an id, tax id, e-mail or phone with an account or contact whose versions did
-- (macros/incremental_identity.sql); a table built before it kept _staged_at is worked out whole once.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['subject', 'subject_key'],
    on_schema_change='append_new_columns'
) }}
{%- set changed_only = is_incremental() and has_column(this, '_staged_at') %}
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
        coalesce(valid_to, {{ open_end() }}) as valid_to,
        _staged_at
    from {{ ref('int_erp_customer_versions') }}
    {%- if changed_only %}
        where customer_code in ({{ subjects_changed_since_last_build('erp_customer') }})
    {%- endif %}
),

tickets as (
    select
        ticket_id,
        crm_account_id,
        customer_email,
        customer_phone,
        coalesce(valid_from, {{ open_start() }}) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to,
        _staged_at
    from {{ ref('int_ticket_versions') }}
    {%- if changed_only %}
        where ticket_id in ({{ subjects_changed_since_last_build('ticket') }})
    {%- endif %}
),

accounts as (
    select
        account_id,
        tax_id,
        email,
        phone,
        greatest(coalesce(valid_from, {{ open_start() }}), coalesce(created_date, {{ open_start() }})) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to,
        _staged_at
    from {{ ref('int_crm_account_versions') }}
),

contacts as (
    select
        account_id,
        email,
        phone,
        greatest(coalesce(valid_from, {{ open_start() }}), coalesce(created_date, {{ open_start() }})) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to,
        _staged_at
    from {{ ref('int_crm_contact_versions') }}
),

contact_points as (
    -- a ticket reaches an account through the account's own e-mail and phone or those of its contacts
    select
        account_id,
        email,
        phone,
        valid_from,
        valid_to,
        _staged_at
    from accounts
    union all
    select
        account_id,
        email,
        phone,
        valid_from,
        valid_to,
        _staged_at
    from contacts
),

subjects as (
    select
        'erp_customer' as subject,
        customer_code as subject_key,
        max(_staged_at) as _staged_at
    from erp_customers
    group by customer_code
    union all
    select
        'ticket' as subject,
        ticket_id as subject_key,
        max(_staged_at) as _staged_at
    from tickets
    group by ticket_id
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
            least(erp_customers.valid_to, accounts.valid_to) as valid_to,
            greatest(erp_customers._staged_at, accounts._staged_at) as _staged_at
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
            least(tickets.valid_to, {{ points }}.valid_to) as valid_to,
            greatest(tickets._staged_at, {{ points }}._staged_at) as _staged_at
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
        {{ open_end() }} as valid_to,
        _staged_at
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
        nullif(valid_to, {{ open_end() }}) as valid_to,
        _staged_at
    from matches
    -- while both versions held
    where valid_from < valid_to
)

select * from final
