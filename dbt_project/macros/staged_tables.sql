{#- Every source table with its key: the rejected-rows and reconciliation models iterate over it. -#}
{% macro staged_tables() -%}
    {{ return([
        ('crm', 'accounts', ['account_id']),
        ('crm', 'contacts', ['contact_id']),
        ('crm', 'campaigns', ['campaign_id']),
        ('crm', 'campaign_responses', ['response_id']),
        ('erp', 'customers', ['customer_code']),
        ('erp', 'sales_orders', ['order_id']),
        ('erp', 'sales_order_lines', ['order_id', 'line_no__text']),
        ('service', 'tickets', ['ticket_id']),
    ]) }}
{%- endmacro %}
