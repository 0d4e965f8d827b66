-- One row per landed sales order line row: typed, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('erp', 'sales_order_lines') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('erp', 'sales_order_lines') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['order_id', 'line_no']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(
        source('erp', 'sales_order_lines'),
        ['order_id', 'line_no'],
        [(ref('base_erp__sales_orders'), 'order_id', 'is_order_staged')]
    ) }}
),

texts as (
    select
        {{ text('order_id') }} as order_id,
        {{ text('line_no') }} as line_no__text,
        {{ text('product_code') }} as product_code,
        {{ text('product_category') }} as product_category,
        {{ text('quantity') }} as quantity__text,
        {{ text('unit_price') }} as unit_price__text,
        {{ text('discount_amount') }} as discount_amount__text,
        {{ text('line_amount') }} as line_amount__text,
        _load_id,
        _loaded_at,
        {{ staged_at() }} as _staged_at,
        {{ appended() }} as _appended,
        record_key
    from scoped
),

typed as {{ inlined_cte() }} (
    select
        *,
        {{ as_integer('line_no__text') }} as line_no,
        {{ try_cast('quantity__text', 'decimal(18, 2)') }} as quantity,
        {{ try_cast('unit_price__text', 'decimal(18, 2)') }} as unit_price,
        {{ try_cast('discount_amount__text', 'decimal(18, 2)') }} as discount_amount,
        {{ try_cast('line_amount__text', 'decimal(18, 2)') }} as line_amount
    from texts
),

ranked as {{ kept_if_incremental() }} (
    -- of the rows of one key, the newest load is staged and the others are duplicates
    {% call ranked_within_key('typed', ['order_id', 'line_no']) %}
        order by _loaded_at desc nulls last, line_amount asc nulls last
    {% endcall %}
),

orders as (
    -- the orders the lines name that are unknown or were rejected: a line of a rejected order is rejected too
    {{ parent_exceptions(ref('base_erp__sales_orders'), 'order_id', named_by='typed') }}
),

linked as (
    -- whether the order this line names exists, and whether it was staged
    select
        ranked.*,
        {{ parent_known('ranked.order_id', 'orders') }} as is_order_known,
        {{ parent_staged('ranked.order_id', 'orders') }} as is_order_staged
    from ranked
    left join orders on ranked.order_id = orders.order_id
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when order_id is null or line_no__text is null then 'null_key:order_id,line_no' end,
            case when order_id is not null and line_no is not null and key_rank > 1 then 'duplicate_key' end,
            case when line_no__text is not null and line_no is null then 'invalid_type:line_no' end,
            case when order_id is not null and not is_order_known then 'unknown_parent:order_id' end,
            case when not is_order_staged then 'rejected_parent:order_id' end,
            case when quantity__text is not null and quantity is null then 'invalid_type:quantity' end,
            case when unit_price__text is not null and unit_price is null then 'invalid_type:unit_price' end,
            case when discount_amount__text is not null and discount_amount is null then 'invalid_type:discount_amount' end,
            case when line_amount__text is not null and line_amount is null then 'invalid_type:line_amount' end
        ) as reject_reasons
    from linked
)

{{ texts_on_rejected_rows_only('checked', [
    'line_no__text',
    'quantity__text',
    'unit_price__text',
    'discount_amount__text',
    'line_amount__text'
]) }}
