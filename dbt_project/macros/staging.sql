{#- Helpers for the staging layer: read any source type as text, cast with
    try_cast, and name why a row cannot be staged. -#}

{#- A source value as trimmed text, full-width digits and signs made half-width; '' is null. -#}
{% macro text(column) -%}
    {%- set value = "cast(" ~ column ~ " as varchar)" -%}
    {#- translate is costly: only values with a multi-byte character (bytes <> characters) need it -#}
    nullif(trim(case
        when strlen({{ value }}) <> length({{ value }})
            then translate({{ value }}, '０１２３４５６７８９＋－（）＠　', '0123456789+-()@ ')
        else {{ value }}
    end), '')
{%- endmacro %}

{#- The text and the typed value of a column: <column>__text and <column>. -#}
{% macro typed(column, type) -%}
    {{ text(column) }} as {{ column }}__text,
    {%- if type == 'date' %}
    coalesce(try_cast({{ text(column) }} as date), cast(try_cast({{ text(column) }} as timestamp) as date)) as {{ column }}
    {%- elif type == 'boolean' %}
    case lower({{ text(column) }})
        when 'true' then true when 't' then true when '1' then true when 'yes' then true when 'y' then true
        when 'false' then false when 'f' then false when '0' then false when 'no' then false when 'n' then false
    end as {{ column }}
    {%- elif type == 'integer' %}
    try_cast(try_cast({{ text(column) }} as decimal(18, 6)) as integer) as {{ column }}
    {%- else %}
    try_cast({{ text(column) }} as {{ type }}) as {{ column }}
    {%- endif %}
{%- endmacro %}

{#- E-mail: trimmed, lower case. -#}
{% macro normal_email(column) -%}
    lower({{ text(column) }})
{%- endmacro %}

{#- Phone: digits only, without a leading 86 country code (and 0086). -#}
{% macro normal_phone(column) -%}
    {%- set digits = "regexp_replace(" ~ text(column) ~ ", '[^0-9]', '', 'g')" -%}
    nullif(case when regexp_full_match({{ digits }}, '(00)?86[0-9]{11}') then right({{ digits }}, 11) else {{ digits }} end, '')
{%- endmacro %}

{#- Reason codes: every condition that holds gives '<code>' (or '<code>:<column>'). -#}
{% macro reasons(checks) -%}
    list_filter([
    {%- for condition, code in checks %}
        case when {{ condition }} then '{{ code }}' end{{ "," if not loop.last }}
    {%- endfor %}
    ], reason -> reason is not null)
{%- endmacro %}

{#- A value given that could not be read as its type. -#}
{% macro bad_type(column) -%}
    ({{ column }}__text is not null and {{ column }} is null)
{%- endmacro %}

{#- A mainland e-mail address shape, after normalising. -#}
{% macro bad_email(column) -%}
    ({{ column }} is not null and not regexp_full_match({{ column }}, '[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+'))
{%- endmacro %}

{#- A mainland mobile or landline number, after normalising. -#}
{% macro bad_phone(column) -%}
    ({{ column }} is not null and not regexp_full_match({{ column }}, '1[3-9][0-9]{9}|0[0-9]{9,11}'))
{%- endmacro %}

{#- An 18-character unified social credit code whose check character fits (GB 32100-2015). -#}
{% macro bad_tax_id(column) -%}
    ({{ column }} is not null and not coalesce(
        regexp_full_match({{ column }}, '[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}')
        and substr('0123456789ABCDEFGHJKLMNPQRTUWXY', 1 + (31 - cast(list_sum(list_transform(
            range(17),
            i -> (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', substr({{ column }}, i + 1, 1)) - 1)
                * [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28][i + 1]
        )) as integer) % 31) % 31, 1) = substr({{ column }}, 18, 1),
        false))
{%- endmacro %}

{#- A moment after the row was extracted: it cannot have happened yet. -#}
{% macro in_future(column) -%}
    ({{ column }} is not null and {{ column }} > _loaded_at)
{%- endmacro %}

{#- Rows of the same key after the first (the newest change wins). -#}
{% macro duplicate(key, order_by) -%}
    (row_number() over (partition by {{ key }} order by {{ order_by }}) > 1)
{%- endmacro %}
