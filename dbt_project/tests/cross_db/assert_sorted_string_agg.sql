{{ config(tags=['cross_db']) }}
-- sorted_string_agg: the values sorted and joined, each once when distinct. Returns the cases that fail.
with accounts as (
    select 'A3' as account_id
    union all
    select 'A1' as account_id
    union all
    select 'A3' as account_id
),

joined as (
    select
        {{ sorted_string_agg('account_id', '|') }} as every_value,
        {{ sorted_string_agg('account_id', '|', distinct=true) }} as distinct_values
    from accounts
)

select * from joined
where not (every_value = 'A1|A3|A3' and distinct_values = 'A1|A3')
