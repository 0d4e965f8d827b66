{#- The keys of a parent table and whether any row of each passed staging: a child of
    a rejected parent is rejected too, with its own reason, instead of vanishing in a join. -#}
{% macro parent_rows(base_model, key) -%}
    select
        {{ key }},
        bool_or(len(reject_reasons) = 0) as is_accepted
    from {{ ref(base_model) }}
    where {{ key }} is not null
    group by {{ key }}
{%- endmacro %}
