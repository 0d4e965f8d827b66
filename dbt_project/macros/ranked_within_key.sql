{#- The rows of a relation, each with its rank among the rows of its key: key_rank 1 for the row staged, the first
    by the `order by` the call's body gives; the others are duplicates. Only the rows of keys landed more than once
    are ranked by a window: a window over every landed row holds and sorts all of them (a 10M-customer first build
    of the order lines spilled 40 GB of them to disk), and almost every key has one row. The relation is read three
    times: name it `as {{ inlined_cte() }}`. Null key parts are one key, as in a window's partition.
        {% call ranked_within_key('typed', ['order_id', 'line_no']) %} order by _loaded_at desc nulls last {% endcall %}
-#}
{% macro ranked_within_key(relation, key_columns) -%}
    {%- set matches = [] -%}
    {%- for column in key_columns -%}
        {%- do matches.append(relation ~ '.' ~ column ~ ' is not distinct from repeated.' ~ column) -%}
    {%- endfor -%}
    with repeated as (
        select {{ key_columns | join(', ') }}
        from {{ relation }}
        group by {{ key_columns | join(', ') }}
        having count(*) > 1
    )

    select
        {{ relation }}.*,
        1 as key_rank
    from {{ relation }}
    where not exists (select 1 from repeated where {{ matches | join(' and ') }})
    union all
    select
        {{ relation }}.*,
        row_number() over (partition by {{ relation }}.{{ key_columns | join(', ' ~ relation ~ '.') }} {{ caller() }}) as key_rank
    from {{ relation }}
    where exists (select 1 from repeated where {{ matches | join(' and ') }})
{%- endmacro %}
