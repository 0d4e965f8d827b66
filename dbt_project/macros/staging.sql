{#- Small expressions the staging models share: read any source value as text, read text as a type, and
    normalise e-mails and phones as SPEC section 4 compares them. -#}

{#- A source value as trimmed text, full-width digits and signs made half-width; '' is missing. -#}
{% macro text(column) -%}
    {%- set value = "cast(" ~ column ~ " as " ~ string_type() ~ ")" -%}
    {%- set rules = source_contract() -%}
    {#- translate is costly: only values with a multi-byte character (bytes <> characters) need it -#}
    nullif(trim(case
        when {{ byte_length(value) }} <> length({{ value }})
            then translate({{ value }}, '{{ rules['full_width'] }}', '{{ rules['half_width'] }}')
        else {{ value }}
    end), '')
{%- endmacro %}

{#- Text read as a whole number; '3.0' is 3. -#}
{% macro as_integer(text_column) -%}
    {{ try_cast(try_cast(text_column, 'decimal(18, 6)'), 'integer') }}
{%- endmacro %}

{#- Text read as a date; a timestamp's date where the source wrote a moment. -#}
{% macro as_date(text_column) -%}
    coalesce({{ try_cast(text_column, 'date') }}, cast({{ try_cast(text_column, 'timestamp') }} as date))
{%- endmacro %}

{#- Text read as true or false in the spellings source systems use. -#}
{% macro as_boolean(text_column) -%}
    case lower({{ text_column }})
        when 'true' then true when 't' then true when '1' then true when 'yes' then true when 'y' then true
        when 'false' then false when 'f' then false when '0' then false when 'no' then false when 'n' then false
    end
{%- endmacro %}

{#- E-mail: trimmed, lower case. -#}
{% macro normal_email(column) -%}
    lower({{ text(column) }})
{%- endmacro %}

{#- Phone: digits only, without a leading 86 country code (or 0086). -#}
{% macro normal_phone(column) -%}
    {%- set digits = replace_all(text(column), '[^0-9]', '') -%}
    nullif(case when {{ full_match(digits, '(00)?86[0-9]{11}') }} then right({{ digits }}, 11) else {{ digits }} end, '')
{%- endmacro %}

{#- An 18-character unified social credit code whose check character fits (GB 32100-2015): the check
    character is 31 - (sum of the first 17 characters' values times their weights) mod 31. -#}
{% macro valid_tax_id(column) -%}
    {%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    {%- set terms = [] -%}
    {%- for weight in weights -%}
        {%- do terms.append("(position(substr(" ~ column ~ ", " ~ loop.index ~ ", 1) in '" ~ alphabet ~ "') - 1) * " ~ weight) -%}
    {%- endfor -%}
    ({{ full_match(column, format_pattern('tax_id')) }} and substr('{{ alphabet }}', 1 + (31 - ({{ terms | join(' + ') }}) % 31) % 31, 1) = substr({{ column }}, 18, 1))
{%- endmacro %}

{#- A row's key as one text value, '|' between parts and '∅' for a missing part. -#}
{% macro record_key(columns) -%}
    concat_ws('|', {% for column in columns %}coalesce(cast({{ column }} as {{ string_type() }}), '∅'){{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- A base model's rows as it writes them: the text a value was read from (`<column>__text`) only on a rejected row,
    where it shows what could not be read (quality.rejected_rows keeps that row whole); a staged row has its value
    typed, and the text it came from stays in the raw table. -#}
{% macro texts_on_rejected_rows_only(relation, text_columns) -%}
    {%- set replacements = {} -%}
    {%- for column in text_columns -%}
        {%- do replacements.update({column: "case when reject_reasons = '' then null else " ~ column ~ " end"}) -%}
    {%- endfor -%}
    {{ select_replacing(relation, replacements) }}
{%- endmacro %}
