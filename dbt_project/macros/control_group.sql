{#- SPEC section 9: 'control' when the first 8 hex digits of md5(customer_key || ':' || control_salt), as an
    integer, mod 10000, are below control_share * 10000; else 'treatment'. A customer stays in its group from run
    to run (and from date to date) as long as the two vars do not change. -#}
{% macro treatment_group(customer_key) -%}
    {%- set salt = var('control_salt') | string | replace("'", "''") -%}
    {%- set digits = "left(md5(" ~ customer_key ~ " || ':' || '" ~ salt ~ "'), 8)" -%}
    case
        when {{ hex_to_bigint(digits) }} % 10000 < {{ var('control_share') }} * 10000 then 'control'
        else 'treatment'
    end
{%- endmacro %}
