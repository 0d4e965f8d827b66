-- One row per ERP customer per period its link held: the CRM account it joined by the ordered rules of SPEC
-- section 4 at the end of every day from valid_from (inclusive) to valid_to (exclusive; null when open), and the
-- rule; two or more accounts found by the deciding rule are a conflict, not a guess. From the link periods, which
-- see customers and accounts as they were, so a past as-of date sees the links as they were.
with periods as (
    select * from {{ ref('int_link_periods') }}
    where subject = 'erp_customer'
),

final as (
    select
        subject_key as customer_code,
        valid_from,
        valid_to,
        crm_account_id,
        link_rule,
        is_conflict,
        conflict_rule,
        conflict_accounts,
        {{ customer_key('crm_account_id', 'subject_key') }} as customer_key
    from periods
)

select * from final
