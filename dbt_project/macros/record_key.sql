{#- A row's key as one text value, '|' between parts and '∅' for a missing part. -#}
{% macro record_key(columns) -%}
    concat_ws('|', {% for column in columns %}coalesce(cast({{ column }} as varchar), '∅'){{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}
