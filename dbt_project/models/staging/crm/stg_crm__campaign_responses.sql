-- One row per campaign_responses row that passed staging's checks (the others are in rejected_rows).
{{ accepted_rows('base_crm__campaign_responses') }}
