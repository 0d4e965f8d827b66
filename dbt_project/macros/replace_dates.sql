{#- The incremental strategy replace_dates, for a model holding rows per as-of date that a run replaces whole: the
    run's dates (as_of_start() to as_of_end()) are deleted from the table and the model's query inserted straight
    into it. dbt's delete+insert first writes the query's rows into a temporary table, then finds their dates in it
    and copies them across: each row written twice. Here dbt's temporary relation is a view of the query, which
    still gives dbt the columns it compares with the table's (the contract, on_schema_change), so the rows are
    computed and written once. The model's unique_key names its date column. -#}
{% macro get_incremental_replace_dates_sql(arg_dict) -%}
{%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
delete from {{ arg_dict['target_relation'] }}
where {{ on_run_dates(arg_dict['unique_key']) }};

insert into {{ arg_dict['target_relation'] }} ({{ columns }})
select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- dbt-duckdb's create_table_as, except that the temporary relation of a replace_dates build is a view -#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
{%- if temporary and language == 'sql' and config.get('incremental_strategy') == 'replace_dates' -%}
{%- if config.get('contract').enforced -%}
{{ get_assert_columns_equivalent(compiled_code) }}
{%- endif %}
create temporary view {{ relation.include(database=false, schema=false) }} as ({{ compiled_code }})
{%- else -%}
{{ dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by) }}
{%- endif -%}
{%- endmacro %}
