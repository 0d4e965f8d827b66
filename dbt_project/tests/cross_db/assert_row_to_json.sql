{{ config(tags=['cross_db']) }}
-- row_to_json: a whole row as a JSON object that names each column. Returns the cases that fail.
with rows_given as (
    select
        'SO1' as order_id,
        2 as line_no
),

as_json as (
    select {{ row_to_json('rows_given') }} as record
    from rows_given
)

select * from as_json
where cast(record as {{ string_type() }}) <> '{"order_id":"SO1","line_no":2}'
