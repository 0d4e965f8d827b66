{#- Incremental staging: a night costs what changed.

    A base model holds one row per landed row, with the moment it was staged (_staged_at: the start of the
    dbt build that staged it). It is incremental, and a build re-stages only the keys that changed since its
    last build:
    - keys with a row landed since then (every row of such a key is staged again, so duplicates rank as
      before), and
    - keys whose parent row changed state (staged, rejected or unknown): that state decides the child's
      reasons, so a rejected customer rejects its orders again, and those their lines. Only the parents
      staged again since the child's last build are compared, unless the parent was rebuilt whole (then a
      parent may have gone, and every child is compared).
    A source reloaded whole since the last build (a first load, a full refresh, a table without an
    incremental column) rebuilds the model whole, so the rows a full load no longer holds leave it.
    `crmseg run --full-refresh` (dbt's --full-refresh) rebuilds every base model from all rows.

    A build appends the keys it stages again and deletes nothing (but the whole table, after a whole reload):
    the rows they supersede stay in the table, and the staged rows are the table's current rows (current_rows:
    of each record key, the rows of its latest build). Deleting them would touch rows all over a large table
    (a night's changed keys lie anywhere in it), and DuckDB keeps what it knows of deleted rows for every
    2,048-row vector touched, in memory for as long as the warehouse is open: a 3M-customer night ran out of
    memory on it. A row appended by an incremental build is marked _appended (it may supersede older rows of
    its key); the current rows are found by comparing the table with the newest build of those keys only.
    When the appended rows grow past a share of the table, the build first rewrites the table with its
    current rows alone (compact_superseded). -#}

{#- When this build started: the _staged_at of every row it stages. -#}
{% macro staged_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- Whether a row this build writes is appended to earlier builds' rows (and may supersede some of them): in an
    incremental build of a table not emptied by its pre-hook. -#}
{% macro appended() -%}
    {%- if is_incremental() -%}
        exists (select 1 from {{ this }})
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#- The current rows of a base model: of each record key, the rows of its latest build. Only keys appended
    since the table was last written whole can have older rows, so only those are compared. -#}
{% macro current_rows(base) -%}
    select kept.*
    from {{ base }} as kept
    left join (
        select
            record_key,
            max(_staged_at) as newest
        from {{ base }}
        where _appended
        group by record_key
    ) as newer on kept.record_key = newer.record_key
    where newer.newest is null or kept._staged_at = newer.newest
{%- endmacro %}

{#- Pre-hook: when more than the share staging_compact_share of the table's rows were appended since it was last
    written whole, write it again with its current rows alone, before this build appends to it. (A read costs a
    comparison with the appended keys; a rewrite costs a read and a write of the whole table: it waits until many
    have been appended.) -#}
{% macro compact_superseded() -%}
    {%- if is_incremental() and execute -%}
        {%- set query -%}
            select count(*) filter (where _appended) > {{ var('staging_compact_share') }} * count(*) from {{ this }}
        {%- endset -%}
        {%- if first_value(query) -%}
            create or replace table {{ this }} as
            select
            {%- for column in adapter.get_columns_in_relation(this) %}
                {{ 'false as _appended' if column.name == '_appended' else column.name }}{{ ',' if not loop.last }}
            {%- endfor %}
            from ({{ current_rows(this) }}) as kept
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The model's last build: rows a parent staged after it are new to the model. -#}
{% macro last_build() -%}
    (select max(_staged_at) from {{ this }})
{%- endmacro %}

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

{#- A parent base model's keys with whether a row of each was staged (staged_since: only the keys staged after
    this moment; named_by: in an incremental build, only the keys the rows of this relation name, the rows being
    staged, instead of every key the parent holds: a 1M-customer night's staging of the order lines then ran within
    a 600MB memory limit, where it had needed 1GB). -#}
{% macro parent_states(parent, column, staged_since=none, named_by=none) -%}
    select
        {{ column }},
        bool_or(reject_reasons = '') as is_staged
    from ({{ current_rows(parent) }}) as parent_rows
    where {{ column }} is not null
    {%- if staged_since %}
        and {{ column }} in (select {{ column }} from {{ parent }} where _staged_at > {{ staged_since }})
    {%- endif %}
    {%- if named_by and is_incremental() %}
        and {{ column }} in (select {{ column }} from {{ named_by }})
    {%- endif %}
    group by {{ column }}
{%- endmacro %}

{#- The parent keys the rows of named_by name that are unknown to the parent or were rejected by it, with
    is_known and is_staged: the few a child's rows are joined with, instead of every key the parent holds (at 10M
    customers, every one of 224M order lines, with all its columns, probed a hash table of 100M orders' states).
    Here only keys meet the parent's states: the named keys, once each. -#}
{% macro parent_exceptions(parent, column, named_by) -%}
    select
        named.{{ column }},
        parent.{{ column }} is not null as is_known,
        parent.is_staged
    from (select distinct {{ column }} from {{ named_by }} where {{ column }} is not null) as named
    left join ({{ parent_states(parent, column, named_by=named_by) }}) as parent on named.{{ column }} = parent.{{ column }}
    where parent.{{ column }} is null or not parent.is_staged
{%- endmacro %}

{#- Whether the parent a row names exists (key: the row's column naming it; exceptions: its parent_exceptions). -#}
{% macro parent_known(key, exceptions) -%}
    coalesce({{ exceptions }}.is_known, {{ key }} is not null)
{%- endmacro %}

{#- Whether a row of the parent a row names was staged: null when it names none that exists. -#}
{% macro parent_staged(key, exceptions) -%}
    case when {{ exceptions }}.is_known is not null then {{ exceptions }}.is_staged when {{ key }} is not null then true end
{%- endmacro %}

{#- Written after `ranked as` in a base model with parents: in an incremental build the rows to stage are worked
    out once and kept (materialized_cte), not inlined into the join with their parents' states: inlined, the key
    of every landed row, the ranking and the parents' states together ran out of DuckDB's 3GB in a 3M-customer
    night's order lines; kept, the same staging took 26 s. Written after `scoped as` too: the ranking reads the
    typed rows more than once, and each read would find the keys to stage again. A first or full build streams
    every row instead. -#}
{% macro kept_if_incremental() -%}
    {%- if is_incremental() %}{{ materialized_cte() }}{% endif -%}
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
    since the last build and those whose parent changed state. landed: the source relation. parents: (parent
    base model, join column, this model's column holding the parent's state) for each parent. A first or full
    build stages every row. -#}
{% macro restage_only(landed, key_columns, parents=[]) -%}
    {%- if is_incremental() -%}
        where record_key in ({{ keys_to_restage(landed, key_columns, parents) }})
    {%- endif -%}
{%- endmacro %}

{#- The landed rows are read straight from the source relation, where the filter on _loaded_at skips whole
    row groups. -#}
{% macro keys_to_restage(landed, key_columns, parents=[]) -%}
    select {{ staged_key(key_columns) }} from {{ landed }} where _loaded_at > {{ last_staged_load() }}
    {%- for parent, column, is_staged in parents %}
    union
    select staged.record_key
    from ({{ current_rows(this) }}) as staged
    {{ join_parent_states(parent, column) }}
    where {{ parent_state('staged.' ~ is_staged) }} <> {{ parent_state('parent.is_staged') }}
    {%- endfor %}
{%- endmacro %}

{#- The parent's states to compare with the child's: only those of the keys staged again since this model's
    last build, unless the parent was rebuilt whole (then every staged child is compared). -#}
{% macro join_parent_states(parent, column) -%}
    {%- if parent_rebuilt_whole(parent) -%}
        left join ({{ parent_states(parent, column) }}) as parent
    {%- else -%}
        inner join ({{ parent_states(parent, column, last_build()) }}) as parent
    {%- endif %}
        on staged.{{ column }} = parent.{{ column }}
{%- endmacro %}

{#- Whether every row of the parent was staged since this model's last build (it was rebuilt whole, and a key
    it held may have gone). -#}
{% macro parent_rebuilt_whole(parent) -%}
    {{ return(none_staged(parent, '<= ' ~ last_build())) }}
{%- endmacro %}

{#- Whether no row of a base model was staged at the moments the condition on _staged_at gives (such as
    `< (select ...)`), asked of the warehouse when the node runs (false while dbt parses). -#}
{% macro none_staged(base, condition) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {{ return(first_value("select not exists (select 1 from " ~ base ~ " where _staged_at " ~ condition ~ ")")) }}
{%- endmacro %}

{#- The first column of the first row a query returns. -#}
{% macro first_value(query) -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}

{#- Pre-hook of quality.rejected_rows: forget the rejected rows whose staged row is no longer there. A base model
    stages a key whole (every row of it with the build's _staged_at), so a kept row is gone when a row of its key
    was staged after it. Every row a base model staged before the newest rejected row kept here was seen by an
    earlier build of this model, so only the rows staged since are read, not every row the staging holds. A base
    model none of whose rows is that old was rebuilt whole since and may no longer hold a key: every row kept of it
    is forgotten. (Nothing kept: nothing to forget, and the newest is null.) -#}
{% macro forget_restaged_rejections() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as rejected
        where exists (
            select 1
            from (
        {%- for source_name, table_name, key in source_tables() %}
                select
                    '{{ source_name }}.{{ table_name }}' as source_table,
                    record_key,
                    _staged_at
                from {{ ref('base_' ~ source_name ~ '__' ~ table_name) }}
                where _staged_at > (select max(kept._staged_at) from {{ this }} as kept)
                {% if not loop.last %}union all{% endif %}
        {%- endfor %}
            ) as restaged
            where
                restaged.source_table = rejected.source_table
                and restaged.record_key = rejected.record_key
                and restaged._staged_at > rejected._staged_at
        )
        {%- for source_name, table_name, key in source_tables() %}
        or (
            rejected.source_table = '{{ source_name }}.{{ table_name }}'
            and not exists (
                select 1 from {{ ref('base_' ~ source_name ~ '__' ~ table_name) }}
                where _staged_at <= (select max(kept._staged_at) from {{ this }} as kept)
            )
        )
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
