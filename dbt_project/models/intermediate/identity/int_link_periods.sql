-- One row per subject (an ERP customer or a ticket) per period in which its link to a CRM account stayed the same:
-- valid_from (inclusive) to valid_to (exclusive), null when open. Between two bounds of its candidates the same
-- candidates hold; in each such period the first rule that finds any account decides, with the accounts it found
-- (one: the link; two or more: a conflict, not a guess; none: no link). Neighbouring periods with the same outcome
-- are merged.
-- A subject's periods follow from its candidates alone: kept with a fingerprint of them, they are worked out again
-- only for the subjects whose candidates changed since the last build; a subject with no candidates left goes.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['subject', 'subject_key'],
    on_schema_change='fail',
    pre_hook="{{ forget_gone_subjects() }}"
) }}
with all_candidates as (
    select
        subject,
        subject_key,
        rule_order,
        match_rule,
        account_id,
        coalesce(valid_from, {{ open_start() }}) as valid_from,
        coalesce(valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_link_candidates') }}
),

fingerprints as (
    select
        subject,
        subject_key,
        {{ unordered_fingerprint(candidate_text()) }} as candidates_fingerprint
    from all_candidates
    group by subject, subject_key
),

changed as (
    -- the subjects to work out: all on a first or full build, those whose candidates changed otherwise
    select * from fingerprints
    {%- if is_incremental() %}
        where not exists (
            select 1 from {{ this }} as kept
            where
                kept.subject = fingerprints.subject
                and kept.subject_key = fingerprints.subject_key
                and kept.candidates_fingerprint = fingerprints.candidates_fingerprint
        )
    {%- endif %}
),

candidates as (
    select all_candidates.*
    from all_candidates
    inner join changed
        on all_candidates.subject = changed.subject and all_candidates.subject_key = changed.subject_key
),

points as (
    select
        subject,
        subject_key,
        valid_from as point
    from candidates
    union
    select
        subject,
        subject_key,
        valid_to as point
    from candidates
),

periods as (
    select *
    from (
        select
            subject,
            subject_key,
            point as valid_from,
            lead(point) over (partition by subject, subject_key order by point asc nulls last) as valid_to
        from points
    ) as bounded
    where valid_to is not null
),

covering as (
    -- the candidates that hold in each period, and the first rule among them that found an account
    select
        periods.subject,
        periods.subject_key,
        periods.valid_from,
        periods.valid_to,
        candidates.rule_order,
        candidates.match_rule,
        candidates.account_id,
        min(candidates.rule_order) over (
            partition by periods.subject, periods.subject_key, periods.valid_from
        ) as deciding_order
    from periods
    inner join candidates
        on
            periods.subject = candidates.subject
            and periods.subject_key = candidates.subject_key
            and periods.valid_from >= candidates.valid_from
            and periods.valid_from < candidates.valid_to
),

outcomes as (
    select
        subject,
        subject_key,
        valid_from,
        valid_to,
        min(match_rule) as match_rule,
        count(distinct account_id) as accounts_found,
        {{ sorted_string_agg('account_id', '|', distinct=true) }} as matched_accounts
    from covering
    where deciding_order is null or rule_order = deciding_order
    group by subject, subject_key, valid_from, valid_to
),

described as (
    -- the rule and the accounts it found, as one value that is never null
    select
        *,
        coalesce(match_rule, '') || ':' || coalesce(matched_accounts, '') as outcome
    from outcomes
),

changes as (
    -- an island of equal outcomes starts wherever the outcome differs from the period before
    select
        *,
        case when lag(outcome) over by_time = outcome then 0 else 1 end as starts_island
    from described
    window by_time as (partition by subject, subject_key order by valid_from asc nulls last)
),

islands as (
    select
        *,
        sum(starts_island) over (
            partition by subject, subject_key order by valid_from asc nulls last rows between unbounded preceding and current row
        ) as island
    from changes
),

merged as (
    select
        subject,
        subject_key,
        min(valid_from) as valid_from,
        max(valid_to) as valid_to,
        min(match_rule) as match_rule,
        min(accounts_found) as accounts_found,
        min(matched_accounts) as matched_accounts
    from islands
    group by subject, subject_key, island
),

final as (
    select
        merged.subject,
        merged.subject_key,
        nullif(merged.valid_from, {{ open_start() }}) as valid_from,
        nullif(merged.valid_to, {{ open_end() }}) as valid_to,
        case when merged.accounts_found = 1 then merged.matched_accounts end as crm_account_id,
        case when merged.accounts_found = 1 then merged.match_rule end as link_rule,
        merged.accounts_found > 1 as is_conflict,
        case when merged.accounts_found > 1 then merged.match_rule end as conflict_rule,
        case when merged.accounts_found > 1 then merged.matched_accounts end as conflict_accounts,
        changed.candidates_fingerprint
    from merged
    inner join changed on merged.subject = changed.subject and merged.subject_key = changed.subject_key
)

select * from final
