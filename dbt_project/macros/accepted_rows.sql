{#- The rows of a base model with no reason against them, without the helper columns. -#}
{% macro accepted_rows(base_model) -%}
    select columns(c -> c not like '%\_\_text' escape '\' and c <> 'reject_reasons')
    from {{ ref(base_model) }}
    where len(reject_reasons) = 0
{%- endmacro %}
