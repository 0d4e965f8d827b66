-- One row per landed sales order row: typed, with the reasons it cannot be staged ('' for none).
{{ config(pre_hook=[
    "{{ restage_whole_after_full_load('erp', 'sales_orders') }}",
    "{{ compact_superseded() }}"
]) }}

with source as (
    select * from {{ source('erp', 'sales_orders') }}
),

keyed as (
    -- each landed row with the key it is staged under
    select
        *,
        {{ staged_key(['order_id']) }} as record_key
    from source
),

scoped as {{ kept_if_incremental() }} (
    -- the rows to stage in this build: every row on a first or full build, the changed keys' otherwise
    select * from keyed
    {{ restage_only(
        source('erp', 'sales_orders'),
        ['order_id'],
        [(ref('base_erp__customers'), 'customer_code', 'is_customer_staged')]
    ) }}
),

texts as (
    select
        {{ text('order_id') }} as order_id,
        {{ text('customer_code') }} as customer_code,
        {{ text('order_date') }} as order_date__text,
        lower({{ text('status') }}) as status,
        {{ text('total_amount') }} as total_amount__text,
        {{ text('updated_at') }} as updated_at__text,
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
        {{ as_date('order_date__text') }} as order_date,
        {{ try_cast('total_amount__text', 'decimal(18, 2)') }} as total_amount,
        {{ try_cast('updated_at__text', 'timestamptz') }} as updated_at
    from texts
),

ranked as {{ kept_if_incremental() }} (
    -- of the rows of one key, the newest change is staged and the others are duplicates
    {% call ranked_within_key('typed', ['order_id']) %}
        order by updated_at desc nulls last, _loaded_at desc nulls last, status asc nulls last
    {% endcall %}
),

customers as (
    -- the customers the orders name that are unknown or were rejected: an order of a rejected customer is rejected too
    {{ parent_exceptions(ref('base_erp__customers'), 'customer_code', named_by='typed') }}
),

linked as (
    -- whether the parents this row names exist, and whether they were staged
    select
        ranked.*,
        {{ parent_known('ranked.customer_code', 'customers') }} as is_customer_known,
        {{ parent_staged('ranked.customer_code', 'customers') }} as is_customer_staged
    from ranked
    left join customers on ranked.customer_code = customers.customer_code
),

checked as (
    select
        *,
        concat_ws(
            ';',
            case when order_id is null then 'null_key:order_id' end,
            case when order_id is not null and key_rank > 1 then 'duplicate_key' end,
            case when customer_code is null then 'missing_required:customer_code' end,
            case when customer_code is not null and not is_customer_known then 'unknown_parent:customer_code' end,
            case when not is_customer_staged then 'rejected_parent:customer_code' end,
            case when order_date__text is null then 'missing_required:order_date' end,
            case when order_date__text is not null and order_date is null then 'invalid_type:order_date' end,
            case when order_date > cast(_loaded_at as date) then 'future_date:order_date' end,
            case when status is null then 'missing_required:status' end,
            case when status not in {{ accepted_values('erp.sales_orders', 'status') }} then 'unknown_value:status' end,
            case when total_amount__text is null then 'missing_required:total_amount' end,
            case when total_amount__text is not null and total_amount is null then 'invalid_type:total_amount' end,
            case when not {{ in_range('erp.sales_orders', 'total_amount') }} then 'out_of_range:total_amount' end,
            case when updated_at__text is null then 'missing_required:updated_at' end,
            case when updated_at__text is not null and updated_at is null then 'invalid_type:updated_at' end,
            case when updated_at > _loaded_at then 'future_date:updated_at' end
        ) as reject_reasons
    from linked
)

{{ texts_on_rejected_rows_only('checked', ['order_date__text', 'total_amount__text', 'updated_at__text']) }}
