{#- A whole row of relation `alias` as a JSON object (PostgreSQL: to_jsonb(alias); Spark: to_json(struct(*))). -#}
{% macro row_to_json(alias) -%}
    {{ return(adapter.dispatch('row_to_json', 'crmseg')(alias)) }}
{%- endmacro %}

{% macro default__row_to_json(alias) -%}
    to_json({{ alias }})
{%- endmacro %}
