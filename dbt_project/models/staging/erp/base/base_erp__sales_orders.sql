-- One row per landed sales order row: typed, with the reasons it cannot be staged.
with source as (
    select * from {{ source('erp', 'sales_orders') }}
),

customers as (
    {{ parent_rows('base_erp__customers', 'customer_code') }}
),

typed as (
    select
        {{ text('order_id') }} as order_id,
        {{ text('customer_code') }} as customer_code,
        {{ typed('order_date', 'date') }},
        lower({{ text('status') }}) as status,
        {{ typed('total_amount', 'decimal(18, 2)') }},
        {{ typed('updated_at', 'timestamptz') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        typed.*,
        {{ reasons([
            ("order_id is null", "null_key:order_id"),
            ("order_id is not null and " ~ duplicate("order_id", "updated_at desc nulls last, _loaded_at desc, status"), "duplicate_key"),
            ("typed.customer_code is null", "missing_required:customer_code"),
            ("typed.customer_code is not null and customers.customer_code is null", "unknown_customer:customer_code"),
            ("not customers.is_accepted", "rejected_customer:customer_code"),
            ("order_date__text is null", "missing_required:order_date"),
            (bad_type("order_date"), "invalid_type:order_date"),
            ("order_date > cast(_loaded_at as date)", "future_date:order_date"),
            ("status is null", "missing_required:status"),
            ("status not in ('completed', 'cancelled', 'returned', 'open')", "unknown_value:status"),
            ("total_amount__text is null", "missing_required:total_amount"),
            (bad_type("total_amount"), "invalid_type:total_amount"),
            ("total_amount < 0", "negative_amount:total_amount"),
            ("updated_at__text is null", "missing_required:updated_at"),
            (bad_type("updated_at"), "invalid_type:updated_at"),
            (in_future("updated_at"), "future_date:updated_at"),
        ]) }} as reject_reasons
    from typed
    left join customers on typed.customer_code = customers.customer_code
)

select * from checked
