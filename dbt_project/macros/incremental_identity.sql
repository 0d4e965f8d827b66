{#- Incremental identity: a subject's link periods (int_link_periods) follow from its candidates alone, and are worked
    out again only for the subjects whose candidates changed. -#}

{#- int_link_periods: a candidate of a subject as text, for the fingerprint of its candidates. -#}
{% macro candidate_text() -%}
    concat_ws(
        '|',
        coalesce(cast(rule_order as {{ string_type() }}), ''),
        coalesce(match_rule, ''),
        coalesce(account_id, ''),
        cast(valid_from as {{ string_type() }}),
        cast(valid_to as {{ string_type() }})
    )
{%- endmacro %}

{#- int_link_periods' pre-hook: forget the subjects that have no candidate any more. -#}
{% macro forget_gone_subjects() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as kept
        where not exists (
            select 1 from {{ ref('int_link_candidates') }} as candidates
            where candidates.subject = kept.subject and candidates.subject_key = kept.subject_key
        )
    {%- endif -%}
{%- endmacro %}

{#- The versions models (int_*_versions) are incremental: a key's versions follow from its snapshot rows alone, and
    a snapshot changes only the keys whose staged row changed, adding a row that carries the _staged_at of the
    build that staged it. So a build works out again only the keys with a snapshot row staged since its last build
    (at 1M customers a night's four versions models took 12.7 s rebuilt whole, one after another before the
    links, and 1.3 s so). A table built before it kept _staged_at is worked out whole once, and gains the column; after a history
    snapshot is dropped and taken again, `crmseg run --full-refresh` works every key out again. -#}
{% macro versions_changed_since_last_build(history, key) -%}
    {%- if is_incremental() and has_column(this, '_staged_at') -%}
        where {{ key }} in (
            select {{ key }} from {{ history }}
            where _staged_at > coalesce((select max(_staged_at) from {{ this }}), {{ open_start() }})
        )
    {%- endif -%}
{%- endmacro %}

{#- int_link_candidates: the subjects of a kind ('erp_customer' or 'ticket') whose candidates may have changed since
    the last build, by their key: those with a version staged since, and those any version of which shares a value a
    rule joins on with any version (old or new) of an account or contact with a version staged since. -#}
{% macro subjects_changed_since_last_build(subject) -%}
    {%- set since = "coalesce((select max(_staged_at) from " ~ this ~ "), " ~ open_start() ~ ")" -%}
    {%- set accounts, contacts = ref('int_crm_account_versions'), ref('int_crm_contact_versions') -%}
    {%- set changed_accounts -%}
        select * from {{ accounts }}
        where account_id in (select account_id from {{ accounts }} where _staged_at > {{ since }})
    {%- endset -%}
    {%- set changed_contacts -%}
        select * from {{ contacts }}
        where contact_id in (select contact_id from {{ contacts }} where _staged_at > {{ since }})
    {%- endset -%}
    {%- if subject == 'erp_customer' -%}
        {%- set versions, key = ref('int_erp_customer_versions'), 'customer_code' -%}
        {%- set meets = [('crm_account_id', 'account_id', changed_accounts), ('tax_id', 'tax_id', changed_accounts),
                         ('email', 'email', changed_accounts), ('phone', 'phone', changed_accounts)] -%}
    {%- else -%}
        {%- set versions, key = ref('int_ticket_versions'), 'ticket_id' -%}
        {%- set meets = [('crm_account_id', 'account_id', changed_accounts),
                         ('customer_email', 'email', changed_accounts), ('customer_phone', 'phone', changed_accounts),
                         ('customer_email', 'email', changed_contacts), ('customer_phone', 'phone', changed_contacts)] -%}
    {%- endif %}
    select {{ key }} from {{ versions }} where _staged_at > {{ since }}
    {%- for column, value, changed in meets %}
        union
        select subjects.{{ key }}
        from {{ versions }} as subjects
        inner join ({{ changed }}) as changed on subjects.{{ column }} = changed.{{ value }}
    {%- endfor %}
{%- endmacro %}
