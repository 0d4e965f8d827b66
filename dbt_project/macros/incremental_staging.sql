{#- Incremental staging: a night costs what changed.

    A base model holds one row per landed row. It is incremental (dbt_project.yml: delete+insert on
    record_key), and a build re-stages only the keys that changed since its last build:
    - keys with a row landed since then (every row of such a key is staged again, so duplicates rank as
      before), and
    - keys whose parent row changed state (staged, rejected or unknown): that state decides the child's
      reasons, so a rejected customer rejects its orders again, and those their lines.
    A source reloaded whole since the last build (a first load, a full refresh, a table without an
    incremental column) rebuilds the model whole, so the rows a full load no longer holds leave it.
    `crmseg run --full-refresh` (dbt's --full-refresh) rebuilds every base model from all rows. -#}

{#- The newest landing the model has staged: rows landed after it are new. -#}
{% macro last_staged_load() -%}
    coalesce((select max(_loaded_at) from {{ this }}), {{ open_start() }})
{%- endmacro %}

{#- Pre-hook: forget every staged row when no landed row is older than the last build (the source was
    reloaded whole, or emptied). -#}
{% macro restage_whole_after_full_load(source_name, table_name) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where not exists (
            select 1 from {{ source(source_name, table_name) }}
            where _loaded_at <= {{ last_staged_load() }}
        )
    {%- endif -%}
{%- endmacro %}

{#- A parent's state as its children see it: null (not found), true (staged) or false (rejected). -#}
{% macro parent_state(is_staged) -%}
    coalesce(case when {{ is_staged }} then 'staged' when not {{ is_staged }} then 'rejected' end, 'unknown')
{%- endmacro %}

{#- The key a landed row is staged under, from the source's key columns. -#}
{% macro staged_key(key_columns) -%}
    {%- set texts = [] -%}
    {%- for column in key_columns -%}{%- do texts.append(text(column)) -%}{%- endfor -%}
    {{ record_key(texts) }}
{%- endmacro %}

{#- In an incremental build, a filter on the keyed rows: the record keys to stage again, those with a row landed
    since the last build and those whose parent changed state. parents: (parent CTE, join column, this model's
    column holding the parent's state) for each parent. A first or full build stages every row. -#}
{% macro restage_only(key_columns, parents=[]) -%}
    {%- if is_incremental() -%}
        where record_key in ({{ keys_to_restage(key_columns, parents) }})
    {%- endif -%}
{%- endmacro %}

{#- The landed rows are read straight from the source, where the filter on _loaded_at skips whole row groups. -#}
{% macro keys_to_restage(key_columns, parents=[]) -%}
    select {{ staged_key(key_columns) }} from source where _loaded_at > {{ last_staged_load() }}
    {%- for parent, column, is_staged in parents %}
    union
    select staged.record_key
    from {{ this }} as staged
    left join {{ parent }} on staged.{{ column }} = {{ parent }}.{{ column }}
    where {{ parent_state('staged.' ~ is_staged) }} <> {{ parent_state(parent ~ '.is_staged') }}
    {%- endfor %}
{%- endmacro %}
