-- One row per sales_orders row that passed staging's checks (the others are in rejected_rows).
{{ accepted_rows('base_erp__sales_orders') }}
