{#- The source rules of SPEC section 4 that staging checks, read from source_contract.sql (written from
    crmseg/contract.py): a rule is changed there, once, and reaches the suites and staging alike. -#}

{#- The values a source column accepts, as a SQL list: ('a', 'b'). -#}
{% macro accepted_values(source_table, column) -%}
    ({%- for value in source_contract()['tables'][source_table]['accepted'][column] -%}
        '{{ value }}'{{ ', ' if not loop.last }}
    {%- endfor -%})
{%- endmacro %}

{#- The regular expression a normalised value of a format (email, phone, tax_id) matches in full. -#}
{% macro format_pattern(name) -%}
    {{ return(source_contract()['formats'][name]) }}
{%- endmacro %}

{#- Every source table with its key columns, as (source, table, key): rejected_rows and raw_reconciliation
    go through all of them. -#}
{% macro source_tables() -%}
    {%- set tables = [] -%}
    {%- for qualified, rules in source_contract()['tables'].items() -%}
        {%- do tables.append(qualified.split('.') + [rules['key']]) -%}
    {%- endfor -%}
    {{ return(tables) }}
{%- endmacro %}

{#- Whether a source column's value lies in its range (a missing value does: it is not out of range). -#}
{% macro in_range(source_table, column) -%}
    {%- set minimum, maximum = source_contract()['tables'][source_table]['ranges'][column] -%}
    {%- set bounds = [] -%}
    {%- if minimum is not none %}{% do bounds.append(column ~ ' >= ' ~ minimum) %}{% endif -%}
    {%- if maximum is not none %}{% do bounds.append(column ~ ' <= ' ~ maximum) %}{% endif -%}
    coalesce({{ bounds | join(' and ') }}, true)
{%- endmacro %}
