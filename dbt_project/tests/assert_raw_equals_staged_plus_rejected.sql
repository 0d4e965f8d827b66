-- Nothing lost: every landed row is staged or rejected with a reason. Returns the tables that do not reconcile.
select *
from {{ ref('raw_reconciliation') }}
where raw_rows <> staged_rows + rejected_rows
