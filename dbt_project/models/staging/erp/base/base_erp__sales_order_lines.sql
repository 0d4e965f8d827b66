-- One row per landed sales order line row: typed, with the reasons it cannot be staged.
with source as (
    select * from {{ source('erp', 'sales_order_lines') }}
),

orders as (
    {{ parent_rows('base_erp__sales_orders', 'order_id') }}
),

typed as (
    select
        {{ text('order_id') }} as order_id,
        {{ typed('line_no', 'integer') }},
        {{ text('product_code') }} as product_code,
        {{ text('product_category') }} as product_category,
        {{ typed('quantity', 'decimal(18, 2)') }},
        {{ typed('unit_price', 'decimal(18, 2)') }},
        {{ typed('discount_amount', 'decimal(18, 2)') }},
        {{ typed('line_amount', 'decimal(18, 2)') }},
        _load_id,
        _loaded_at
    from source
),

checked as (
    select
        typed.*,
        {{ reasons([
            ("typed.order_id is null or line_no__text is null", "null_key:order_id,line_no"),
            (bad_type("line_no"), "invalid_type:line_no"),
            ("typed.order_id is not null and line_no is not null and " ~ duplicate("typed.order_id, line_no", "_loaded_at desc, line_amount"), "duplicate_key"),
            ("typed.order_id is not null and orders.order_id is null", "unknown_order:order_id"),
            ("not orders.is_accepted", "rejected_order:order_id"),
            (bad_type("quantity"), "invalid_type:quantity"),
            (bad_type("unit_price"), "invalid_type:unit_price"),
            (bad_type("discount_amount"), "invalid_type:discount_amount"),
            (bad_type("line_amount"), "invalid_type:line_amount"),
        ]) }} as reject_reasons
    from typed
    left join orders on typed.order_id = orders.order_id
)

select * from checked
