{{ config(tags=['cross_db']) }}
-- inlined_cte: a CTE written with it is read as any CTE, by each query that names it. Returns the cases that fail.
{{ cte_hint_test(inlined_cte()) }}
