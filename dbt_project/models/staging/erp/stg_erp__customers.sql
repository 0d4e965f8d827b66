-- One row per customers row that passed staging's checks (the others are in rejected_rows).
{{ accepted_rows('base_erp__customers') }}
