{#- Schemas by layer (staging, intermediate, quality, marts, rules), not prefixed
    with the target schema: the warehouse is crmseg's own. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name or target.schema }}
{%- endmacro %}
