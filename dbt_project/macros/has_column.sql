{#- Whether the relation has the column (on a table built before a column was added, an incremental model may
    need to work out all its rows once). -#}
{% macro has_column(relation, column) -%}
    {{ return(column in adapter.get_columns_in_relation(relation) | map(attribute='name') | list) }}
{%- endmacro %}
