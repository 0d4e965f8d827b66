{#- The rows of a relation, each with its rank among the rows of its key: key_rank 1 for the row staged, the first
    by the `order by` the call's body gives; the others are duplicates. Only the rows of keys landed more than once
    are ranked by a window: a window over every landed row holds and sorts all of them, and almost every key has one
    row (at 10M customers, a first build staged the order lines in 778.9 s this way, 1,297.9 s with the window). The
    relation is read more than once: name it `as {{ inlined_cte() }}`. Null key parts are one key, as in a window's
    partition.
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
