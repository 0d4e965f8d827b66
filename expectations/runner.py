"""Run a raw table's Great Expectations suite (JSON in expectations/suites/) on a load.

GX 1.x is called directly (dagster-ge requires GX < 1). It runs inside the
landing transaction, before the load commits, so a load that fails a check of
error severity is rolled back and the previous raw table stays as it was.

The suites are written from the source contract (crmseg/contract_files.py).
Each expectation has a scope. `load` (the default) judges the rows this load
brought, so that a bad night is not diluted in years of good history; `table`
judges the landed table as a whole (volume and freshness). Frames are read
from the warehouse through Arrow, only the columns the suite names, each in
its contract type (a value that does not cast is null), moments as local time
in CRMSEG_TIMEZONE and columns with a format normalised as staging normalises
them: a full load reads the table, an incremental load only its new rows. The
table-level checks read no column: the volume check sees a frame of as many
rows as the table holds, and the freshness check (a column's largest value)
a frame of the one value the warehouse finds. GX on DuckDB through SQLAlchemy
is unreliable, so GX sees pandas.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from crmseg.contract import (
    DECIMAL,
    DUCKDB_TYPES,
    EMAIL,
    FULL_WIDTH,
    HALF_WIDTH,
    PHONE,
    TAX_ID,
    TEXT,
    TIMESTAMP,
    Column,
    Table,
)
from crmseg.duck import quote
from crmseg.quality import CheckOutcome, mask

SUITES_DIR = Path(__file__).resolve().parent / "suites"
LOAD, TABLE = "load", "table"
# A share-based check (`mostly`) judges a load of fewer rows as if it had this
# many: a handful of bad rows on a quiet night is quarantined by staging, while
# a broken source shows as many bad rows and blocks.
SMALL_LOAD_ROWS = 100
# Columns a suite may name besides the contract's: when the load ran, as a
# moment and as a local date (the session time zone is CRMSEG_TIMEZONE).
LOAD_COLUMNS = {"_loaded_at": "CAST(_loaded_at AS TIMESTAMP)", "_loaded_on": "CAST(_loaded_at AS DATE)"}
COLUMN_ARGUMENTS = ("column", "column_A", "column_B")
# table-level expectations on a column's aggregate, judged on the aggregate the warehouse computes
AGGREGATES = {"expect_column_max_to_be_between": "max", "expect_column_min_to_be_between": "min"}


@cache
def load_suite(qualified: str) -> dict:
    return json.loads((SUITES_DIR / f"{qualified}.json").read_text())


def scope(expectation: dict) -> str:
    return expectation["meta"].get("scope", LOAD)


def validate(
    con: duckdb.DuckDBPyConnection, table: Table, raw_table: str, load_id: str, whole_table: bool
) -> list[CheckOutcome]:
    """Every expectation of the table's suite on this load (`whole_table`: the load replaced the table)."""
    expectations = load_suite(table.qualified)["expectations"]
    on_load = [e for e in expectations if scope(e) == LOAD]
    on_table = [e for e in expectations if scope(e) == TABLE]
    load_frame = read_frame(
        con, table, raw_table, columns_named(table, on_load), load_id=None if whole_table else load_id
    )
    outcomes = run_suite(table, [small_load_allowance(e, len(load_frame)) for e in on_load], load_frame, {})
    # the table-level checks: the row count on a frame of as many rows, and a column's largest or smallest value on
    # a frame of the one value the warehouse finds, so that no night reads a whole column out of it
    parameters = table_parameters(con, table, on_table)
    rows = read_frame(con, table, raw_table, [])
    outcomes += run_suite(table, [e for e in on_table if e["type"] not in AGGREGATES], rows, parameters)
    for function in sorted({AGGREGATES[e["type"]] for e in on_table if e["type"] in AGGREGATES}):
        on_aggregate = [e for e in on_table if AGGREGATES.get(e["type"]) == function]
        frame, judged = aggregate_frame(con, table, raw_table, on_aggregate, function)
        outcomes += run_suite(table, judged, frame, parameters, rows=len(rows))
    return outcomes


def aggregate_frame(
    con: duckdb.DuckDBPyConnection, table: Table, raw_table: str, expectations: list[dict], function: str
) -> tuple[pd.DataFrame, list[dict]]:
    """One row: the aggregate (max or min) of each expectation's column over the table's rows that meet its
    row condition, typed as read_frame types it; and the expectations, their row conditions applied here."""
    items, judged = [], []
    for expectation in expectations:
        kwargs = dict(expectation["kwargs"])
        column = kwargs["column"]
        value = column_expression(table, column)
        condition = kwargs.pop("row_condition", None)
        kwargs.pop("condition_parser", None)
        if condition:
            value = f"{value}) FILTER (WHERE {sql_condition(table, condition)}"
        items.append(f"{function}({value}) AS {quote(column)}")
        judged.append({**expectation, "kwargs": kwargs})
    frame = con.execute(f"SELECT {', '.join(items)} FROM {raw_table}").arrow().read_all().to_pandas()
    return frame, judged


def sql_condition(table: Table, condition: str) -> str:
    """A suite's row condition (`a <= b`: two columns compared) as SQL on the typed columns."""
    match = re.fullmatch(r"(\w+) (<=|<|>=|>|==|!=) (\w+)", condition.strip())
    if not match:
        raise ValueError(f"{table.qualified}: row condition {condition!r} cannot be judged in the warehouse")
    left, operator, right = match.groups()
    operator = "=" if operator == "==" else operator
    return f"{column_expression(table, left)} {operator} {column_expression(table, right)}"


def column_expression(table: Table, name: str) -> str:
    """A contract or load column as the frames hold it."""
    return LOAD_COLUMNS[name] if name in LOAD_COLUMNS else typed(table.column(name))


def columns_named(table: Table, expectations: list[dict]) -> list[str]:
    """The contract and load columns the expectations read, in contract order."""
    named: set[str] = set()
    for expectation in expectations:
        kwargs = expectation["kwargs"]
        named.update(kwargs[a] for a in COLUMN_ARGUMENTS if a in kwargs)
        named.update(kwargs.get("column_set", ()))
        named.update(re.findall(r"\w+", kwargs.get("row_condition", "")))
    return [c for c in (*table.column_names, *LOAD_COLUMNS) if c in named]


def read_frame(
    con: duckdb.DuckDBPyConnection, table: Table, raw_table: str, columns: list[str], load_id: str | None = None
) -> pd.DataFrame:
    """The rows (of one load, or all), these columns typed; no columns gives a frame of row count only."""
    where, parameters = ("WHERE _load_id = ?", [load_id]) if load_id else ("", [])
    if not columns:
        rows = con.execute(f"SELECT count(*) FROM {raw_table} {where}", parameters).fetchone()[0]
        return pd.DataFrame(index=pd.RangeIndex(rows))
    items = [f"{column_expression(table, name)} AS {quote(name)}" for name in columns]
    return con.execute(f"SELECT {', '.join(items)} FROM {raw_table} {where}", parameters).arrow().read_all().to_pandas()


def typed(column: Column) -> str:
    """The column as GX judges it: its contract type, normalised as staging normalises it (macros/staging.sql).

    Text is trimmed with full-width characters made half-width (translate only where a value has a multi-byte
    character: it is costly), accepted values and e-mails are compared in lower case, tax ids in upper case, and
    phones as digits without a leading 86.
    """
    text = f"CAST({quote(column.name)} AS VARCHAR)"
    value = f"nullif(trim(CASE WHEN strlen({text}) <> length({text}) THEN translate({text}, '{FULL_WIDTH}', "
    value += f"'{HALF_WIDTH}') ELSE {text} END), '')"
    if column.format == EMAIL or column.accepted:
        return f"lower({value})"
    if column.format == TAX_ID:
        return f"upper({value})"
    if column.format == PHONE:
        digits = f"regexp_replace({value}, '[^0-9]', '', 'g')"
        national = f"CASE WHEN regexp_full_match({digits}, '(00)?86[0-9]{{11}}') THEN right({digits}, 11) END"
        return f"nullif(coalesce({national}, {digits}), '')"
    if column.type == TEXT:
        return value
    if column.type == TIMESTAMP:  # local time, as the load columns
        return f"CAST(TRY_CAST({value} AS TIMESTAMPTZ) AS TIMESTAMP)"
    # amounts as doubles: GX compares them with numbers, and Decimal objects are slow in pandas
    type_ = "DOUBLE" if column.type == DECIMAL else DUCKDB_TYPES[column.type]
    return f"TRY_CAST({value} AS {type_})"


def small_load_allowance(expectation: dict, rows: int) -> dict:
    """The expectation with `mostly` eased for a load of fewer than SMALL_LOAD_ROWS rows."""
    mostly = expectation["kwargs"].get("mostly")
    if mostly is None or rows >= SMALL_LOAD_ROWS:
        return expectation
    eased = max(0.0, 1 - (1 - mostly) * SMALL_LOAD_ROWS / max(rows, 1))
    return {**expectation, "kwargs": {**expectation["kwargs"], "mostly": eased}}


def table_parameters(con: duckdb.DuckDBPyConnection, table: Table, expectations: list[dict]) -> dict:
    """Suite parameters of the table-level checks, from their settings and the previous load.

    Called inside the landing transaction before the load's state is recorded,
    so `extract_state` still holds the previous load.
    """
    parameters: dict = {}
    for expectation in expectations:
        meta = expectation["meta"]
        if "max_drop_share" in meta:  # volume: not fewer rows than the previous load less this share
            previous = con.execute(
                "SELECT rows_in_raw FROM _crmseg.extract_state WHERE source_table = ?", [table.qualified]
            ).fetchone()
            parameters["min_rows"] = math.ceil((previous[0] if previous else 0) * (1 - meta["max_drop_share"]))
        if "max_age_days" in meta:  # freshness: a change within this many days
            now = con.execute("SELECT CAST(current_timestamp AS TIMESTAMP)").fetchone()[0]  # local, as the frames
            parameters["fresh_after"] = now - timedelta(days=meta["max_age_days"])
    return parameters


def run_suite(
    table: Table, expectations: list[dict], frame: pd.DataFrame, parameters: dict, rows: int | None = None
) -> list[CheckOutcome]:
    """The expectations judged on the frame; rows: how many rows the frame stands for (its own length)."""
    if not expectations:
        return []
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = _context()
    name = f"{table.qualified}-{uuid.uuid4().hex[:8]}"
    batch = (
        context.data_sources.add_pandas(name)
        .add_dataframe_asset(table.qualified)
        .add_batch_definition_whole_dataframe("landed")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation_configuration(ExpectationConfiguration(**expectation))
    try:
        result = batch.validate(
            context.suites.add(suite),
            expectation_parameters=parameters,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
    finally:
        context.suites.delete(name)
        context.data_sources.delete(name)
    return [_outcome(table, item, len(frame) if rows is None else rows, parameters) for item in result.results]


@cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    # GX fingerprints every frame under this many bytes for its batch markers, by hashing every value: a
    # third of a suite's time on a million accounts. crmseg keeps no batch markers, so none is fingerprinted.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _outcome(table: Table, item, rows: int, parameters: dict) -> CheckOutcome:
    config = item.expectation_config
    kwargs, details = config.kwargs, item.result or {}
    column = kwargs.get("column") or kwargs.get("column_B")
    personal = column in table.column_names and table.column(column).personal
    observed = expected = ""
    error = (item.exception_info or {}).get("exception_message") if not item.success else None
    if error and (item.exception_info or {}).get("raised_exception"):
        observed, expected = f"error {error.splitlines()[0]}", "the check to run"
    elif "unexpected_count" not in details:  # a table-level check: one observed value against bounds
        unit = " rows" if "row_count" in config.type else ""
        observed = f"{_text(details.get('observed_value'))}{unit}"
        expected = _bounds(kwargs, parameters) + unit
    return CheckOutcome(
        table=table.qualified,
        check=config.meta["check"],
        check_type=config.type,
        column=column,
        severity=config.meta["severity"],
        passed=bool(item.success),
        rows=rows,
        unexpected_count=int(details.get("unexpected_count") or 0),
        unexpected_percent=float(details.get("unexpected_percent") or 0.0),
        observed=observed,
        expected=expected,
        sample=sample(details.get("partial_unexpected_list") or [], personal),
    )


def _bounds(kwargs: dict, parameters: dict) -> str:
    def resolve(value):
        return parameters.get(value["$PARAMETER"]) if isinstance(value, dict) else value

    low, high = resolve(kwargs.get("min_value")), resolve(kwargs.get("max_value"))
    if low is not None and high is not None:
        return f"{_text(low)} .. {_text(high)}"
    return f">= {_text(low)}" if low is not None else f"<= {_text(high)}"


def sample(values: list, personal: bool) -> tuple[str, ...]:
    """Failing values as a person reads them: each once, nulls as null, a pair as 'b > a', personal ones masked."""
    shown: list[str] = []
    for value in values:
        if isinstance(value, tuple | list):  # a pair check: (column_A, column_B), B must not be after A
            text = f"{_text(value[1])} > {_text(value[0])}"
        else:
            text = mask(value) if personal and _plain(value) is not None else _text(value)
        if text not in shown:
            shown.append(text)
    return tuple(shown)


def _plain(value):
    """A Python value for what pandas and NumPy hand back: None for every kind of missing."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.datetime64 | pd.Timestamp):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _text(value) -> str:
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
