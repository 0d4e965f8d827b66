{#- Generic tests written here because the project uses no dbt packages. Each returns failing rows. -#}

{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_these_values
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test sums_to_one(model, column) %}
select sum({{ column }}) as total
from {{ model }}
having sum({{ column }}) <> 1
{% endtest %}

{% test sums_to_one_per(model, column, group_by) %}
select {{ group_by }}, sum({{ column }}) as total
from {{ model }}
group by {{ group_by }}
having abs(sum({{ column }}) - 1) > 0.000001
{% endtest %}

{% test accepted_range(model, column_name, min_value, max_value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}

{#- A table BI reads must never be published empty. -#}
{% test not_empty(model) %}
select 'no rows' as problem
where not exists (select 1 from {{ model }})
{% endtest %}

{#- Every as-of date the run builds has rows. (The model is not aliased: it may come as a subquery with its own.) -#}
{% test has_rows_for_run_dates(model) %}
select dates.as_of_date
from {{ date_series(as_of_start(), as_of_end(), 'as_of_date') }} as dates
left join (select distinct as_of_date from {{ model }}) as built on dates.as_of_date = built.as_of_date
where built.as_of_date is null
{% endtest %}
