-- One row per landed row that could not be staged, with every reason against it: nothing is dropped silently.
{% for source_name, table_name, key in staged_tables() %}
    select
        '{{ source_name }}.{{ table_name }}' as source_table,
        {{ record_key(key) }} as record_key,
        reject_reasons,
        len(reject_reasons) as reason_count,
        to_json(base) as record,
        _load_id,
        _loaded_at
    from {{ ref('base_' ~ source_name ~ '__' ~ table_name) }} as base
    where len(reject_reasons) > 0
    {% if not loop.last %}union all{% endif %}
{% endfor %}
