{#- The CTEs `dates` (the run's as-of dates), `run` (its first and last) and `epoch_codes`, which int_purchase_days
    and int_orders_attributed go on from with epoch_days(). An epoch [epoch_from, epoch_to) is a period in which a
    customer's links to ERP codes do not change (int_erp_customers_linked), so what its codes did can be summed once
    per epoch and given to every date in it. `epoch_codes`: one row per customer, epoch overlapping the run and ERP
    code linked to it then. Opens a WITH: the model goes on with ", next_cte as (...)". -#}
{% macro epoch_order_days() -%}
with dates as (
    select * from {{ ref('int_as_of_dates') }}
),

run as (
    select
        min(as_of_date) as first_date,
        max(as_of_date) as last_date
    from dates
),

links as (
    -- the link periods that hold on some date of the run, with open bounds as the two ends of time
    select
        links.customer_key,
        links.customer_code,
        coalesce(links.valid_from, {{ open_start() }}) as valid_from,
        coalesce(links.valid_to, {{ open_end() }}) as valid_to
    from {{ ref('int_erp_customers_linked') }} as links
    cross join run
    where
        coalesce(links.valid_from, {{ open_start() }}) <= run.last_date
        and run.first_date < coalesce(links.valid_to, {{ open_end() }})
),

bounds as (
    select
        customer_key,
        valid_from as bound
    from links
    union
    select
        customer_key,
        valid_to as bound
    from links
),

epochs as (
    -- [epoch_from, epoch_to): a customer's links do not change inside one
    select
        customer_key,
        bound as epoch_from,
        lead(bound) over (partition by customer_key order by bound asc nulls last) as epoch_to
    from bounds
),

epoch_codes as (
    select
        epochs.customer_key,
        epochs.epoch_from,
        epochs.epoch_to,
        links.customer_code
    from epochs
    cross join run
    inner join links
        on
            epochs.customer_key = links.customer_key
            and epochs.epoch_from >= links.valid_from
            and epochs.epoch_from < links.valid_to
    where
        epochs.epoch_to is not null
        and epochs.epoch_from <= run.last_date
        and run.first_date < epochs.epoch_to
)
{%- endmacro %}


{#- The body of a CTE of epoch days: one row per customer, epoch and day before the epoch's end with an order of its
    codes that meets `condition` (on `orders` and `run`), whatever its status: `orders` counts the completed ones and
    `amount` sums their totals (null when none has one). Each order is joined once to the epochs of its code and summed
    per day: a day of two of a customer's codes is one day. DuckDB keeps a CTE read more than once whole, where read
    once it flows on: so the days up to the build's first date (every epoch day of the history, 28M rows at 3M
    customers) are a CTE read once, and only the few days after it may be read more than once. -#}
{% macro epoch_days(condition) -%}
    select
        epoch_codes.customer_key,
        epoch_codes.epoch_from,
        epoch_codes.epoch_to,
        orders.order_date,
        count(*) filter (where orders.status = 'completed') as orders,
        sum(orders.total_amount) filter (where orders.status = 'completed') as amount
    from {{ ref('stg_erp__sales_orders') }} as orders
    cross join run
    inner join epoch_codes
        on orders.customer_code = epoch_codes.customer_code and orders.order_date < epoch_codes.epoch_to
    where {{ condition }}
    group by epoch_codes.customer_key, epoch_codes.epoch_from, epoch_codes.epoch_to, orders.order_date
{%- endmacro %}
