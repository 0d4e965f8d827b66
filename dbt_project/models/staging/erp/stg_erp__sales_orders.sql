-- One row per sales order that passed every staging check (the other rows are in quality.rejected_rows).
with base as (
    {{ current_rows(ref('base_erp__sales_orders')) }}
),

staged as (
    select
        order_id,
        customer_code,
        order_date,
        status,
        total_amount,
        updated_at,
        _load_id,
        _loaded_at,
        _staged_at
    from base
    where reject_reasons = ''
)

select * from staged
