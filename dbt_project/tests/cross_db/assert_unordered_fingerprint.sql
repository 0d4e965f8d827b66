{{ config(tags=['cross_db']) }}
-- unordered_fingerprint: the same values in any order give the same fingerprint; one value more, less or changed
-- gives another. Returns the cases that fail.
with candidates as (
    select
        'first' as subject,
        'A1|1' as candidate
    union all
    select
        'first' as subject,
        'A2|2' as candidate
    union all
    select
        'reordered' as subject,
        'A2|2' as candidate
    union all
    select
        'reordered' as subject,
        'A1|1' as candidate
    union all
    select
        'one_more' as subject,
        'A1|1' as candidate
    union all
    select
        'one_more' as subject,
        'A2|2' as candidate
    union all
    select
        'one_more' as subject,
        'A2|2' as candidate
    union all
    select
        'changed' as subject,
        'A1|1' as candidate
    union all
    select
        'changed' as subject,
        'A2|3' as candidate
),

fingerprinted as (
    select
        subject,
        {{ unordered_fingerprint('candidate') }} as fingerprint
    from candidates
    group by subject
),

compared as (
    select
        max(case when subject = 'first' then fingerprint end) as first_fingerprint,
        max(case when subject = 'reordered' then fingerprint end) as reordered,
        max(case when subject = 'one_more' then fingerprint end) as one_more,
        max(case when subject = 'changed' then fingerprint end) as changed
    from fingerprinted
)

select * from compared
where not (first_fingerprint = reordered and first_fingerprint <> one_more and first_fingerprint <> changed)
