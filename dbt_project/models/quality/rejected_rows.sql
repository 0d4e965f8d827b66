-- One row per landed row that could not be staged, with every reason against it: nothing is dropped silently.
{% for source_name, table_name, key in source_tables() %}
    select
        '{{ source_name }}.{{ table_name }}' as source_table,
        base.record_key,
        base.reject_reasons,
        {{ row_to_json('base') }} as record,
        base._load_id,
        base._loaded_at
    from {{ ref('base_' ~ source_name ~ '__' ~ table_name) }} as base
    where base.reject_reasons <> ''
    {% if not loop.last %}union all{% endif %}
{% endfor %}
