-- One row per sales_order_lines row that passed staging's checks (the others are in rejected_rows).
{{ accepted_rows('base_erp__sales_order_lines') }}
