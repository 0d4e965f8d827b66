"""Run a raw table's Great Expectations suite (JSON in expectations/suites/) on the landed table.

GX 1.x is called directly (dagster-ge requires GX < 1). The table is read from
the warehouse once, cast to the contract's types, and validated as a pandas
frame: GX on DuckDB through SQLAlchemy is unreliable.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from crmseg.contract import DUCKDB_TYPES, TEXT, Table

SUITES_DIR = Path(__file__).resolve().parent / "suites"
ERROR, WARN = "error", "warn"


@dataclass(frozen=True)
class CheckOutcome:
    table: str  # source.table
    check: str  # the suite's short name, e.g. customer_code_not_null
    expectation: str  # the GX expectation type
    column: str | None
    severity: str  # error blocks the run; warn is recorded
    passed: bool
    rows: int
    unexpected_count: int
    unexpected_percent: float
    sample: tuple[str, ...]

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return (
            f"{where}: {self.expectation} failed for {self.unexpected_count:,} of {self.rows:,} rows "
            f"({self.unexpected_percent:.1f}%, check {self.check})"
        )


def load_suite(table: Table) -> dict:
    return json.loads((SUITES_DIR / f"{table.qualified}.json").read_text())


def read_typed(con: duckdb.DuckDBPyConnection, table: Table, raw_table: str):
    """The landed rows with every contract column in its type; a value that does not cast is null."""
    present = {name for (name,) in con.execute(f"SELECT column_name FROM (DESCRIBE {raw_table})").fetchall()}
    columns = []
    for column in table.columns:
        if column.name not in present:
            continue
        value = f"nullif(trim(CAST({column.name} AS VARCHAR)), '')"
        if column.type != TEXT:
            value = f"TRY_CAST({value} AS {DUCKDB_TYPES[column.type]})"
        columns.append(f"{value} AS {column.name}")
    return con.execute(f"SELECT {', '.join(columns)} FROM {raw_table}").df()


def validate(con: duckdb.DuckDBPyConnection, table: Table, raw_table: str) -> list[CheckOutcome]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    frame = read_typed(con, table, raw_table)
    spec = load_suite(table)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_pandas("crmseg")
        .add_dataframe_asset(table.qualified)
        .add_batch_definition_whole_dataframe("landed")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=spec["name"])
    for expectation in spec["expectations"]:
        suite.add_expectation_configuration(ExpectationConfiguration(**expectation))
    result = batch.validate(context.suites.add(suite), result_format={"result_format": "SUMMARY"})
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        outcomes.append(
            CheckOutcome(
                table=table.qualified,
                check=config.meta["check"],
                expectation=config.type,
                column=config.kwargs.get("column"),
                severity=config.meta["severity"],
                passed=bool(item.success),
                rows=len(frame),
                unexpected_count=int(details.get("unexpected_count") or 0),
                unexpected_percent=float(details.get("unexpected_percent") or 0.0),
                sample=tuple(str(v) for v in (details.get("partial_unexpected_list") or [])[:5]),
            )
        )
    return outcomes


def record_outcomes(con: duckdb.DuckDBPyConnection, outcomes: list[CheckOutcome], run_id: str, as_of: str | None):
    """One row per check per run in _crmseg.data_quality_results, for people and for BI."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS _crmseg.data_quality_results (
            run_id VARCHAR, as_of_dates VARCHAR, checked_at TIMESTAMPTZ, source_table VARCHAR, check_name VARCHAR,
            expectation VARCHAR, column_name VARCHAR, severity VARCHAR, passed BOOLEAN, rows_checked BIGINT,
            unexpected_count BIGINT, unexpected_percent DOUBLE, sample VARCHAR)"""
    )
    con.executemany(
        "INSERT INTO _crmseg.data_quality_results VALUES (?, ?, current_timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [run_id, as_of, o.table, o.check, o.expectation, o.column, o.severity, o.passed, o.rows,
             o.unexpected_count, o.unexpected_percent, ", ".join(o.sample)]
            for o in outcomes
        ],
    )  # fmt: skip
