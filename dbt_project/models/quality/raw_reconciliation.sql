-- One row per source table: landed rows against staged plus rejected rows. They must be equal.
{% for source_name, table_name, key in source_tables() %}
    select
        '{{ source_name }}.{{ table_name }}' as source_table,
        (select count(*) from {{ source(source_name, table_name) }}) as raw_rows,
        (select count(*) from {{ ref('stg_' ~ source_name ~ '__' ~ table_name) }}) as staged_rows,
        (
            select count(*) from {{ ref('rejected_rows') }}
            where source_table = '{{ source_name }}.{{ table_name }}'
        ) as rejected_rows
    {% if not loop.last %}union all{% endif %}
{% endfor %}
