{#- Written from crmseg/contract.py (SPEC section 4) by `make contract`: change the contract,
    not this file. The staging models read it through macros/source_rules.sql. -#}
{% macro source_contract() -%}
    {{ return({
        'tables': {
            'crm.accounts': {
                'key': ["account_id"],
                'accepted': {
                    'customer_type': ["individual", "enterprise", "institution"],
                    'company_size': ["large", "medium", "small", "micro"],
                    'ownership': ["state_owned", "private", "foreign", "joint_venture", "public_institution"],
                    'lead_source': ["advertising", "social_media", "trade_show", "referral", "website", "cold_call"],
                },
                'ranges': {
                    'city_tier': [1, 5],
                },
            },
            'crm.contacts': {
                'key': ["contact_id"],
                'accepted': {},
                'ranges': {},
            },
            'crm.campaigns': {
                'key': ["campaign_id"],
                'accepted': {
                    'campaign_type': ["promotion", "product_launch", "webinar", "trade_show", "newsletter"],
                    'channel': ["email", "sms", "wechat", "offline", "web"],
                },
                'ranges': {},
            },
            'crm.campaign_responses': {
                'key': ["response_id"],
                'accepted': {
                    'response_type': ["delivered", "opened", "clicked", "registered", "attended", "converted"],
                },
                'ranges': {},
            },
            'erp.customers': {
                'key': ["customer_code"],
                'accepted': {},
                'ranges': {},
            },
            'erp.sales_orders': {
                'key': ["order_id"],
                'accepted': {
                    'status': ["completed", "cancelled", "returned", "open"],
                },
                'ranges': {
                    'total_amount': [0, none],
                },
            },
            'erp.sales_order_lines': {
                'key': ["order_id", "line_no"],
                'accepted': {},
                'ranges': {},
            },
            'service.tickets': {
                'key': ["ticket_id"],
                'accepted': {
                    'channel': ["phone", "email", "online_chat", "wechat", "onsite"],
                    'ticket_type': ["inquiry", "complaint", "repair", "return_request", "consultation"],
                    'priority': ["low", "normal", "high", "urgent"],
                    'status': ["open", "resolved", "closed"],
                },
                'ranges': {
                    'satisfaction_score': [1, 5],
                },
            },
        },
        'formats': {
            'email': "[a-z0-9._%+-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+",
            'phone': "1[3-9][0-9]{9}|0[0-9]{9,11}",
            'tax_id': "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}",
        },
        'full_width': "０１２３４５６７８９＋－（）＠　",
        'half_width': "0123456789+-()@ ",
    }) }}
{%- endmacro %}
