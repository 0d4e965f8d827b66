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
