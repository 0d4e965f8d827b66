{#- A fingerprint of the values of `expression` in a group, whatever their order: their count and the sum of their
    64-bit hashes, as text. Unlike a sorted aggregate its state is two numbers, so a large group-by spills to disk
    instead of holding every group's values in memory. A new DuckDB version may hash differently: the fingerprints
    then all differ once, and what they guard is worked out again once. (Spark: sum(xxhash64(...)) as decimal.) -#}
{% macro unordered_fingerprint(expression) -%}
    {{ return(adapter.dispatch('unordered_fingerprint', 'crmseg')(expression)) }}
{%- endmacro %}

{% macro default__unordered_fingerprint(expression) -%}
    cast(count(*) as {{ string_type() }}) || ':' || cast(sum(hash({{ expression }})) as {{ string_type() }})
{%- endmacro %}
