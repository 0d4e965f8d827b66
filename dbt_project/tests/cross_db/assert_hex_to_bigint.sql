{{ config(tags=['cross_db']) }}
-- hex_to_bigint: hexadecimal digits, lower or upper case, read as the integer they stand for. Returns the cases
-- that fail.
with cases as (
    select
        'ffffffff' as hex,
        cast(4294967295 as bigint) as expected
    union all
    select
        '07e52976' as hex,
        cast(132458870 as bigint) as expected
    union all
    select
        '0A' as hex,
        cast(10 as bigint) as expected
)

select * from cases
where {{ hex_to_bigint('hex') }} <> expected
