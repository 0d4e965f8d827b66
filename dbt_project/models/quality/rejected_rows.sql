-- One row per landed row that could not be staged, with every reason against it: nothing is dropped silently.
-- Incremental, as the staging is: the pre-hook forgets the rows the staging has since staged again or no longer
-- holds (a row here is the staged row of the same record key and _staged_at), and a build adds the rejected rows
-- of each source table staged after the newest kept here, so this holds every rejected row the staging holds.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ forget_restaged_rejections() }}"
) }}

{% for source_name, table_name, key in source_tables() %}
    {%- set source_table = source_name ~ '.' ~ table_name %}
    select
        '{{ source_table }}' as source_table,
        base.record_key,
        base.reject_reasons,
        {{ row_to_json('base') }} as record,
        base._load_id,
        base._loaded_at,
        base._staged_at
    from ({{ current_rows(ref('base_' ~ source_name ~ '__' ~ table_name)) }}) as base
    where
        base.reject_reasons <> ''
        {%- if is_incremental() %}
            and base._staged_at > coalesce(
                (
                    select max(kept._staged_at) from {{ this }} as kept
                    where kept.source_table = '{{ source_table }}'
                ),
                {{ open_start() }}
            )
        {%- endif %}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
