{{ config(tags=['cross_db']) }}
-- select_replacing: every column in its place, the named ones replaced. Returns the cases that fail.
with given as (
    select
        1 as a,
        'x' as b,
        2 as c
),

replaced as (
    {{ select_replacing('given', {'b': "b || 'y'", 'c': 'c * 10'}) }}
),

-- compared by position: a column out of its place differs
failures as (
    select * from replaced
    except
    select
        1 as a,
        'xy' as b,
        20 as c
)

select * from failures
union all
select
    0 as a,
    'no row' as b,
    0 as c
where (select count(*) from replaced) <> 1
