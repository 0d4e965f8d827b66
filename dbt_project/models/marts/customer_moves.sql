-- SPEC section 9: the worklist of moves. One row per customer and dimension whose segment changed from the as-of
-- date before the latest in the history to the latest: who just became at risk, who just became high value. Only
-- customers of both dates move (a new customer is in customer_segments); a segment of a customer outside the scored
-- population is 'not_scored'.
{% set dimensions = segment_dimensions() %}
with latest as (
    select max(as_of_date) as as_of_date from {{ ref('int_customer_segments') }}
),

previous as (
    select max(history.as_of_date) as as_of_date
    from {{ ref('int_customer_segments') }} as history
    where history.as_of_date < (select latest.as_of_date from latest)
),

after as (
    select history.*
    from {{ ref('int_customer_segments') }} as history
    inner join latest on history.as_of_date = latest.as_of_date
),

before as (
    select history.*
    from {{ ref('int_customer_segments') }} as history
    inner join previous on history.as_of_date = previous.as_of_date
),

pairs as (
    -- the customers of both dates, joined once
    select
        after.as_of_date,
        before.as_of_date as previous_date,
        after.customer_key,
        after.crm_account_id,
    {% for dimension in dimensions %}
        coalesce(before.{{ dimension }}, 'not_scored') as before_{{ dimension }},
        coalesce(after.{{ dimension }}, 'not_scored') as after_{{ dimension }}{{ "," if not loop.last }}
    {% endfor %}
    from after
    inner join before on after.customer_key = before.customer_key
),

long as (
    select
        pairs.as_of_date,
        pairs.previous_date,
        pairs.customer_key,
        pairs.crm_account_id,
        dimensions.dimension,
        {{ dimension_value(dimensions, 'pairs.before_') }} as from_segment,
        {{ dimension_value(dimensions, 'pairs.after_') }} as to_segment
    from pairs
    cross join {{ dimension_rows(dimensions) }}
),

final as (
    select
        as_of_date,
        previous_date,
        customer_key,
        crm_account_id,
        dimension,
        from_segment,
        to_segment
    from long
    where from_segment <> to_segment
)

select * from final
