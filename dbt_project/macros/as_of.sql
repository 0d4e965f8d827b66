{#- The as-of dates a run builds: var as_of_date, or the range as_of_start ..
    as_of_end, or else the range CRMSEG_AS_OF_START .. CRMSEG_AS_OF_END in the
    environment (how crmseg passes them), or else yesterday in CRMSEG_TIMEZONE.
    Returned as 'YYYY-MM-DD'.

    The environment is read only when the models run, never while dbt parses
    them: dbt parses the whole project again whenever its vars change, and every
    file again that read an environment variable at parse time whose value
    changed, so a night's build parses nothing. A model must therefore not
    depend on other models for one date than for several (int_orders_attributed's
    two ways ref the same models). -#}
{% macro as_of_start() -%}
    {{ return(_as_of_range()[0]) }}
{%- endmacro %}

{% macro as_of_end() -%}
    {{ return(_as_of_range()[1]) }}
{%- endmacro %}

{#- Whether the date column holds one of the run's as-of dates. -#}
{% macro on_run_dates(column) -%}
    {{ column }} between date '{{ as_of_start() }}' and date '{{ as_of_end() }}'
{%- endmacro %}

{% macro _as_of_range() -%}
    {%- set single = var('as_of_date', none) -%}
    {%- set start = var('as_of_start', none) or single -%}
    {%- set end = var('as_of_end', none) or single -%}
    {%- if execute and not (start or end) -%}
        {%- set start, end = env_var('CRMSEG_AS_OF_START', '') or none, env_var('CRMSEG_AS_OF_END', '') or none -%}
    {%- endif -%}
    {%- if not start and not end -%}
        {%- set zone = modules.pytz.timezone(env_var('CRMSEG_TIMEZONE', 'Asia/Shanghai')) -%}
        {%- set yesterday = (modules.datetime.datetime.now(zone) - modules.datetime.timedelta(days=1)).strftime('%Y-%m-%d') -%}
        {%- set start, end = yesterday, yesterday -%}
    {%- endif -%}
    {%- set start, end = (start or end) | string, (end or start) | string -%}
    {%- for value in (start, end) -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
            {{ exceptions.raise_compiler_error("as-of date must be YYYY-MM-DD, got '" ~ value ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if start > end -%}
        {{ exceptions.raise_compiler_error("as_of_start " ~ start ~ " is after as_of_end " ~ end) }}
    {%- endif -%}
    {{ return([start, end]) }}
{%- endmacro %}
