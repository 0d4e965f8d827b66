{#- The integer a text of hexadecimal digits stands for, e.g. the first 8 digits of an md5; at most 15 digits, so
    that it fits a bigint (PostgreSQL: ('x' || lpad(hex, 16, '0'))::bit(64)::bigint; Spark: cast(conv(hex, 16, 10)
    as bigint)). -#}
{% macro hex_to_bigint(hex) -%}
    {{ return(adapter.dispatch('hex_to_bigint', 'crmseg')(hex)) }}
{%- endmacro %}

{% macro default__hex_to_bigint(hex) -%}
    cast('0x' || ({{ hex }}) as bigint)
{%- endmacro %}
