-- One row per sales order line that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_erp__sales_order_lines')) }}
),

staged as (
    select
        order_id,
        line_no,
        product_code,
        product_category,
        quantity,
        unit_price,
        discount_amount,
        line_amount,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
