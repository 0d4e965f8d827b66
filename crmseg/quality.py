"""Outcomes of quality checks, wherever they ran, and the table that keeps them.

Great Expectations suites on the landed sources, dbt tests on the models and
the segment drift checks all end as `CheckOutcome`s, kept one row per check
per run in `_crmseg.data_quality_results` for people (the quality report)
and for BI (the serving table of the same name).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from crmseg.errors import CrmsegError

ERROR, WARN = "error", "warn"  # error blocks what comes after; warn is recorded and shown
RESULTS_TABLE = "_crmseg.data_quality_results"


@dataclass(frozen=True)
class CheckOutcome:
    table: str  # what was checked: a source table ('erp.sales_orders') or a model ('marts.customer_segments')
    check: str  # short name, unique per table: customer_code_not_null, volume, drift
    check_type: str  # the GX expectation type, or the dbt test
    column: str | None
    severity: str
    passed: bool
    rows: int | None  # rows checked, where the check reads rows
    unexpected_count: int = 0
    unexpected_percent: float = 0.0
    observed: str = ""  # what a table-level check saw, e.g. '4,951 rows'
    expected: str = ""  # and what it wanted, e.g. '>= 7,921 rows'
    sample: tuple[str, ...] = ()  # a few failing values, personal ones masked

    @property
    def blocks(self) -> bool:
        return self.severity == ERROR and not self.passed

    def describe(self) -> str:
        """One line naming the table, column, check and how much failed."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        if self.observed:
            return f"{where}: {self.check_type} failed: {self.observed}, expected {self.expected} (check {self.check})"
        counted = f" of {self.rows:,} rows" if self.rows is not None else " rows"
        share = f"{self.unexpected_percent:.1f}%, " if self.rows else ""
        return f"{where}: {self.check_type} failed for {self.unexpected_count:,}{counted} ({share}check {self.check})"


class QualityGateFailed(CrmsegError):
    """A check of error severity failed: nothing after it may run."""

    def __init__(self, outcomes: list[CheckOutcome]):
        self.outcomes = outcomes
        failed = [o for o in outcomes if o.blocks]
        more = f" (and {len(failed) - 1} more blocking checks)" if len(failed) > 1 else ""
        super().__init__(failed[0].describe() + more)


def mask(value: object) -> str:
    """A personal value shown only by its shape: its first character and its length."""
    text = str(value)
    return f"{text[:1]}***({len(text)} chars)" if text else text


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS _crmseg")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
            run_id VARCHAR, as_of_date DATE, checked_at TIMESTAMPTZ, table_name VARCHAR, check_name VARCHAR,
            check_type VARCHAR, column_name VARCHAR, severity VARCHAR, passed BOOLEAN, rows_checked BIGINT,
            unexpected_count BIGINT, unexpected_percent DOUBLE, observed VARCHAR, expected VARCHAR, sample VARCHAR)"""
    )


def record(
    con: duckdb.DuckDBPyConnection, outcomes: Iterable[CheckOutcome], run_id: str, as_of_date: str | None
) -> None:
    """One row per check per run. A check that runs again in the same run (a retried step) replaces its row."""
    outcomes = list(outcomes)
    ensure_results_table(con)
    if not outcomes:  # e.g. dbt ended before its first test: its own error is the one to report
        return
    con.executemany(
        f"DELETE FROM {RESULTS_TABLE} WHERE run_id = ? AND table_name = ? AND check_name = ?",
        [[run_id, o.table, o.check] for o in outcomes],
    )
    con.executemany(
        f"INSERT INTO {RESULTS_TABLE} VALUES (?, ?, current_timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [run_id, as_of_date, o.table, o.check, o.check_type, o.column, o.severity, o.passed, o.rows,
             o.unexpected_count, o.unexpected_percent, o.observed, o.expected, ", ".join(o.sample)]
            for o in outcomes
        ],
    )  # fmt: skip
