-- The floor `make bench` compares crmseg with: one hand-written DuckDB script that lands every source table
-- and computes SPEC section 5 for one as-of date, nothing else (no quality checks, no identity resolution
-- beyond the ERP customer's CRM id, no history, no publishing). bench/run.py fills in {sources} and {as_of}.
ATTACH '{sources}/crm.sqlite' AS crm (TYPE sqlite, READ_ONLY);
ATTACH '{sources}/erp.sqlite' AS erp (TYPE sqlite, READ_ONLY);

CREATE TABLE accounts AS SELECT * FROM crm.accounts;
CREATE TABLE contacts AS SELECT * FROM crm.contacts;
CREATE TABLE campaigns AS SELECT * FROM crm.campaigns;
CREATE TABLE campaign_responses AS SELECT * FROM crm.campaign_responses;
CREATE TABLE customers AS SELECT * FROM erp.customers;
CREATE TABLE sales_orders AS SELECT * FROM erp.sales_orders;
CREATE TABLE sales_order_lines AS SELECT * FROM erp.sales_order_lines;
CREATE TABLE tickets AS SELECT * FROM read_json_auto('{sources}/service/*.jsonl', union_by_name = true);

CREATE TABLE segments AS
WITH counted AS (
    SELECT
        coalesce(c.crm_account_id, 'erp:' || o.customer_code) AS customer_key,
        TRY_CAST(o.order_date AS DATE) AS order_date,
        TRY_CAST(o.total_amount AS DECIMAL(18, 2)) AS amount
    FROM sales_orders AS o LEFT JOIN customers AS c USING (customer_code)
    WHERE lower(trim(o.status)) = 'completed' AND TRY_CAST(o.order_date AS DATE) <= DATE '{as_of}'
),
per_customer AS (
    SELECT
        customer_key,
        DATE '{as_of}' - max(order_date) AS recency_days,
        count(*) FILTER (order_date > DATE '{as_of}' - 365) AS frequency,
        coalesce(sum(amount) FILTER (order_date > DATE '{as_of}' - 365), 0) AS monetary,
        count(*) AS orders_total,
        DATE '{as_of}' - min(order_date) AS tenure_days
    FROM counted GROUP BY customer_key
),
scored AS (
    SELECT
        *,
        count(*) OVER () AS n,
        rank() OVER (ORDER BY recency_days DESC) AS r_rank,
        rank() OVER (ORDER BY frequency) AS f_rank,
        rank() OVER (ORDER BY monetary) AS m_rank,
        recency_days < avg(recency_days) OVER () AS r_high,
        frequency > avg(frequency) OVER () AS f_high,
        monetary > avg(monetary) OVER () AS m_high,
        coalesce(sum(monetary) OVER (
            ORDER BY monetary DESC, customer_key ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
            / nullif(sum(monetary) OVER (), 0) AS share_before
    FROM per_customer
),
scores AS (
    SELECT
        *,
        least(5, 1 + floor(5 * (r_rank - 1) / greatest(n - 1, 1))) AS r_score,
        least(5, 1 + floor(5 * (f_rank - 1) / greatest(n - 1, 1))) AS f_score,
        least(5, 1 + floor(5 * (m_rank - 1) / greatest(n - 1, 1))) AS m_score
    FROM scored
),
population AS (
    SELECT account_id AS customer_key FROM accounts
    WHERE TRY_CAST(created_at AS DATE) <= DATE '{as_of}' AND NOT coalesce(TRY_CAST(is_deleted AS BOOLEAN), false)
    UNION
    SELECT customer_key FROM per_customer
),
responses AS (
    SELECT account_id AS customer_key, count(*) AS responses_365d FROM campaign_responses
    WHERE lower(response_type) IN ('clicked', 'registered', 'attended', 'converted')
        AND TRY_CAST(responded_at AS TIMESTAMP) < DATE '{as_of}' + 1
        AND TRY_CAST(responded_at AS TIMESTAMP) >= DATE '{as_of}' - 364
    GROUP BY ALL
),
service AS (
    SELECT
        crm_account_id AS customer_key,
        count(*) AS tickets_365d,
        count(*) FILTER (lower(ticket_type) = 'complaint') AS complaints_365d,
        avg(TRY_CAST(satisfaction_score AS INTEGER)) AS avg_satisfaction_365d
    FROM tickets
    WHERE TRY_CAST(created_at AS TIMESTAMP) < DATE '{as_of}' + 1
        AND TRY_CAST(created_at AS TIMESTAMP) >= DATE '{as_of}' - 364
    GROUP BY ALL
),
segmented AS (
    SELECT
        population.customer_key,
        s.recency_days, s.frequency, s.monetary, s.orders_total,
        s.r_score, s.f_score, s.m_score,
        ceil((s.f_score + s.m_score) / 2) AS fm_score,
        CASE WHEN s.r_high THEN 'H' ELSE 'L' END || CASE WHEN s.f_high THEN 'H' ELSE 'L' END
            || CASE WHEN s.m_high THEN 'H' ELSE 'L' END AS cn8_code,
        CASE WHEN s.customer_key IS NULL THEN NULL
            WHEN s.monetary > 0 AND s.share_before < 0.80 THEN 'A'
            WHEN s.monetary > 0 AND s.share_before < 0.95 THEN 'B' ELSE 'C' END AS abc_class,
        CASE WHEN s.customer_key IS NULL THEN NULL
            WHEN s.monetary >= 5000000 AND s.tenure_days >= 1095 THEN 'strategic'
            WHEN s.monetary >= 1000000 THEN 'key' ELSE 'ordinary' END AS value_tier,
        CASE WHEN s.customer_key IS NULL THEN 'prospect'
            WHEN s.recency_days > 365 THEN 'churned'
            WHEN s.recency_days > 180 THEN 'declining'
            WHEN s.tenure_days < 90 THEN 'new'
            WHEN s.frequency >= 6 AND s.tenure_days >= 365 THEN 'loyal'
            WHEN s.orders_total >= 2 THEN 'repeat' ELSE 'one_time' END AS lifecycle_stage,
        CASE WHEN coalesce(r.responses_365d, 0) = 0 THEN 'none' WHEN r.responses_365d <= 2 THEN 'low'
            WHEN r.responses_365d <= 5 THEN 'medium' ELSE 'high' END AS campaign_engagement,
        coalesce(t.complaints_365d >= 2 OR t.avg_satisfaction_365d <= 2.0, false) AS service_risk
    FROM population
    LEFT JOIN scores AS s USING (customer_key)
    LEFT JOIN responses AS r USING (customer_key)
    LEFT JOIN service AS t USING (customer_key)
)
SELECT
    *,
    CASE WHEN service_risk OR lifecycle_stage IN ('declining', 'churned') THEN 'risk'
        WHEN abc_class = 'A' THEN 'high_value'
        WHEN abc_class = 'B' OR campaign_engagement IN ('medium', 'high') THEN 'growth'
        ELSE 'potential' END AS strategy_group
FROM segmented;
