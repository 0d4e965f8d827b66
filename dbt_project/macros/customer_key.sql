{#- customer_key: stable for the same sources, from the CRM account id, or the ERP
    customer code for a customer known only to the ERP. -#}
{% macro customer_key(crm_account_id, erp_customer_code) -%}
    left(md5(coalesce('crm:' || {{ crm_account_id }}, 'erp:' || {{ erp_customer_code }})), 16)
{%- endmacro %}
