-- One row per tickets row that passed staging's checks (the others are in rejected_rows).
{{ accepted_rows('base_service__tickets') }}
