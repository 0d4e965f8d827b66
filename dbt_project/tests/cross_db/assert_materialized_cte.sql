{{ config(tags=['cross_db']) }}
-- materialized_cte: a CTE written with it is read as any CTE, by each query that names it. Returns the cases that fail.
{{ cte_hint_test(materialized_cte()) }}
