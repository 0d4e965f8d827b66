"""Plant dirty data, each kind at the configured rate, so the quality gates have work.

A kind touches `rate` of a table's rows (rounded, per chunk). Within a table
the kinds take disjoint rows, so each dirty row carries exactly one planted
fault, and none touches the planted customers that guarantee every segment.
Every change is counted in the manifest under kind -> "source.table.column".
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import duckdb
import numpy as np

from crmseg import contract
from crmseg.duck import literal
from crmseg.generate.company import PLANTED

# the full-width digits staging turns back into digits
FULL_WIDTH_DIGITS = contract.FULL_WIDTH[:10]

# kind -> table -> the columns it changes, in turn
KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "duplicate_rows": {
        "crm.accounts": ("*",),
        "crm.contacts": ("*",),
        "erp.customers": ("*",),
        "erp.sales_orders": ("*",),
        "service.tickets": ("*",),
    },
    "null_keys": {
        "crm.accounts": ("account_id",),
        "crm.contacts": ("contact_id",),
        "erp.customers": ("customer_code",),
        "erp.sales_orders": ("order_id",),
        "service.tickets": ("ticket_id",),
    },
    "messy_contacts": {
        "crm.accounts": ("email", "phone"),
        "erp.customers": ("email", "phone"),
        "service.tickets": ("customer_email", "customer_phone"),
    },
    "malformed_contacts": {
        "crm.accounts": ("email", "phone", "tax_id"),
        "erp.customers": ("email", "phone"),
        "service.tickets": ("customer_email", "customer_phone"),
    },
    "unknown_enums": {
        "crm.accounts": ("customer_type",),
        "crm.campaign_responses": ("response_type",),
        "erp.sales_orders": ("status",),
        "service.tickets": ("channel",),
    },
    "future_dates": {
        "crm.accounts": ("created_at",),
        "erp.sales_orders": ("order_date",),
        "service.tickets": ("created_at",),
    },
    "negative_amounts": {"erp.sales_orders": ("total_amount",)},
    "unknown_customer_orders": {"erp.sales_orders": ("customer_code",)},
    "tickets_without_identifier": {"service.tickets": ("crm_account_id",)},
}

UNKNOWN_VALUES = {"customer_type": "vip", "response_type": "bounced", "status": "pending_approval", "channel": "fax"}


def gen_table(qualified: str) -> str:
    return "gen_" + qualified.replace(".", "_")


def plant(con: duckdb.DuckDBPyConnection, rng: np.random.Generator, rate: float, end_date: date, counts: dict) -> None:
    """Plant every kind in this chunk's gen_* tables and add to `counts`."""
    if rate <= 0:
        return
    tables = sorted({t for per_kind in KINDS.values() for t in per_kind})
    for qualified in tables:
        name = gen_table(qualified)
        total = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        used: set[int] = set()
        for kind, per_table in KINDS.items():
            if qualified not in per_table:
                continue
            columns = per_table[qualified]
            wanted = int(rate * total + 0.5)
            for i, column in enumerate(columns):
                # share the kind's rows between its columns, the first taking the remainder
                share = wanted // len(columns) + (1 if i < wanted % len(columns) else 0)
                rows = _pick(con, rng, name, column, share, used)
                if rows:
                    used.update(_apply(con, kind, name, column, rows, end_date))
                    counts[kind][f"{qualified}.{column}" if column != "*" else qualified] += len(rows)


def new_counts() -> dict:
    return defaultdict(lambda: defaultdict(int))


def _pick(con, rng, name: str, column: str, count: int, used: set[int]) -> list[int]:
    if count <= 0:
        return []
    must_have = "" if column == "*" else f" AND {column} IS NOT NULL"
    if column == "total_amount":
        must_have += " AND total_amount > 0"
    rows = con.execute(f"SELECT _row FROM {name} WHERE _customer >= {len(PLANTED)}{must_have}").fetchnumpy()["_row"]
    chosen: list[int] = []
    for position in rng.permutation(len(rows)):  # random order; skip rows another kind took
        row = int(rows[position])
        if row not in used:
            chosen.append(row)
            if len(chosen) == count:
                break
    return sorted(chosen)


def _apply(con, kind: str, name: str, column: str, rows: list[int], end_date: date) -> list[int]:
    """Change the rows; return every row touched (a duplicate's copy as well)."""
    where = f"_row IN ({', '.join(map(str, rows))})"
    if kind == "duplicate_rows":
        top = con.execute(f"SELECT max(_row) FROM {name}").fetchone()[0]
        con.execute(
            f"INSERT INTO {name} SELECT * REPLACE ({top} + row_number() OVER (ORDER BY _row) AS _row) "
            f"FROM {name} WHERE {where}"
        )
        return rows + list(range(top + 1, top + 1 + len(rows)))
    con.execute(f"UPDATE {name} SET {_mutation(kind, name, column, end_date)} WHERE {where}")
    return rows


def _mutation(kind: str, name: str, column: str, end_date: date) -> str:
    # a typed year a decade off, as real typos are: in the future of any run, whatever day it is
    later = "(3650 + _row % 400)"
    end = literal(end_date.isoformat())
    if kind == "null_keys":
        return f"{column} = NULL"
    if kind == "messy_contacts":
        if "email" in column:
            return f"{column} = '  ' || upper({column}) || ' '"
        # +86 prefixes, separators and full-width digits, by turn
        return (
            f"{column} = CASE _row % 3 WHEN 0 THEN '+86 ' || {column} "
            f"WHEN 1 THEN '0086-' || regexp_replace({column}, '^(...)(....)(....)$', '\\1 \\2 \\3') "
            f"ELSE translate({column}, '{contract.HALF_WIDTH[:10]}', '{FULL_WIDTH_DIGITS}') END"
        )
    if kind == "malformed_contacts":
        if "email" in column:
            return (
                f"{column} = CASE _row % 2 WHEN 0 THEN replace({column}, '@', '#') "
                f"ELSE split_part({column}, '@', 1) || '@' END"
            )
        if column == "tax_id":
            # one character off: the check character no longer fits
            return f"{column} = left({column}, 17) || CASE WHEN right({column}, 1) = '0' THEN '1' ELSE '0' END"
        return f"{column} = left({column}, 6)"
    if kind == "unknown_enums":
        return f"{column} = {literal(UNKNOWN_VALUES[column])}"
    if kind == "future_dates":
        if name == "gen_erp_sales_orders":
            return (
                f"order_date = DATE {end} + {later}::INTEGER, updated_at = TIMESTAMP {end} + to_days({later}::INTEGER)"
            )
        if name == "gen_service_tickets":
            moved = f"strftime(TIMESTAMP {end} + to_days({later}::INTEGER) + INTERVAL 10 HOUR, '%Y-%m-%dT%H:%M:%S')"
            return (
                f"created_at = {moved} || right(created_at, 6), resolved_at = NULL, "
                "satisfaction_score = NULL, status = 'open', updated_at = NULL"
            )
        moved = f"TIMESTAMP {end} + to_days({later}::INTEGER)"
        return f"created_at = {moved}, updated_at = {moved}"
    if kind == "negative_amounts":
        return "total_amount = -total_amount"
    if kind == "unknown_customer_orders":
        return "customer_code = 'C9' || lpad((_row % 10000000)::VARCHAR, 7, '0')"
    if kind == "tickets_without_identifier":
        return "crm_account_id = NULL, customer_email = NULL, customer_phone = NULL"
    raise ValueError(f"unknown dirty kind {kind}")
