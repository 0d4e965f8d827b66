"""Run a raw table's Great Expectations suite (JSON in expectations/suites/) on a load.

GX 1.x is called directly (dagster-ge requires GX < 1). It runs inside the
landing transaction, before the load commits, so a load that fails a check of
error severity is rolled back and the previous raw table stays as it was.

The suites are written from the source contract (crmseg/contract_files.py).
Each expectation has a scope. `load` (the default) judges the rows this load
brought, so that a bad night is not diluted in years of good history; `table`
judges the landed table as a whole (volume and freshness).

The load-level checks are judged by DuckDB: GX's SQL execution runs on the
landing's own connection, inside its transaction, over a temporary table of
the load's rows (a full load: the table's) holding only the columns the suite
names, each in its contract type (a value that does not cast is null), moments
as local time in CRMSEG_TIMEZONE and columns with a format normalised as
staging normalises them. No column leaves the warehouse, so a first load of
millions of rows costs DuckDB's time and memory (within its memory limit),
not pandas'.
The table-level checks read no column: the volume check sees a frame of as
many rows as the table holds, and the freshness check (a column's largest
value) a frame of the one value the warehouse finds.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import duckdb
import duckdb_engine
import numpy as np
import pandas as pd

from crmseg.contract import (
    DATE,
    DECIMAL,
    DUCKDB_TYPES,
    EMAIL,
    FULL_WIDTH,
    HALF_WIDTH,
    INTEGER,
    PHONE,
    TAX_ID,
    TEXT,
    TIMESTAMP,
    Column,
    Table,
)
from crmseg.duck import column_types, literal, memory_lowered, quote, suites_memory_limit
from crmseg.errors import CrmsegError
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
# the load's rows as the load-level checks judge them: a temporary table of the landing's connection
JUDGED = "_judged_rows"
COLUMN_ARGUMENTS = ("column", "column_A", "column_B")
# (contract type, raw column type) of a raw column the checks read as it is: typed() of its text gives the same value
# (a SQLite table landed typed, crmseg.sources.SourceLocation.reads_typed), a moment but where moment_as_is converts it
AS_IT_IS = {(INTEGER, "BIGINT"), (DECIMAL, "DOUBLE"), (DATE, "DATE"), (TIMESTAMP, "TIMESTAMP")}
# table-level expectations on a column's aggregate, judged on the aggregate the warehouse computes
AGGREGATES = {"expect_column_max_to_be_between": "max", "expect_column_min_to_be_between": "min"}
# a moment written without a zone, in the years the time zones' skipped hours are known for (`{0,1}`, not `?`: GX
# renders its queries by replacing each `?` with a parameter)
PLAIN_MOMENT = r"(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6}){0,1}){0,1}){0,1}"


@cache
def load_suite(qualified: str) -> dict:
    return json.loads((SUITES_DIR / f"{qualified}.json").read_text())


def scope(expectation: dict) -> str:
    return expectation["meta"].get("scope", LOAD)


def validate(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    raw_table: str,
    load_id: str,
    whole_table: bool,
    loaded: str | None = None,
) -> list[CheckOutcome]:
    """Every expectation of the table's suite on this load (`whole_table`: the load replaced the table), with
    DuckDB within the suites' memory limit (CRMSEG_SUITES_MEMORY_LIMIT). The load's rows are those of `load_id` in
    `loaded` (the raw table when not given; an incremental landing's every row read, some left as landed before)."""
    with memory_lowered(con, suites_memory_limit()):
        return _validate(con, table, raw_table, load_id, whole_table, loaded or raw_table)


def _validate(
    con: duckdb.DuckDBPyConnection, table: Table, raw_table: str, load_id: str, whole_table: bool, loaded: str
) -> list[CheckOutcome]:
    expectations = load_suite(table.qualified)["expectations"]
    on_load = [e for e in expectations if scope(e) == LOAD]
    on_table = [e for e in expectations if scope(e) == TABLE]
    on_aggregates = [e for e in on_table if e["type"] in AGGREGATES]
    # the load's rows, typed once into a temporary table (with the aggregates' columns when they are the table)
    named = columns_named(table, on_load + (on_aggregates if whole_table else []))
    zone = con.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    raw_types = column_types(con, raw_table)
    load_rows = frame_query(table, loaded, named, load_id, whole_table, zone, column_types(con, loaded))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {JUDGED} AS {load_rows}")
    # the load-level checks, judged by DuckDB
    count = con.execute(f"SELECT count(*) FROM {JUDGED}").fetchone()[0]
    judged = [small_load_allowance(e, count) for e in on_load]
    outcomes = run_suite(table, judged, InWarehouse(con, f"SELECT * FROM {JUDGED}"), {}, rows=count)
    # the table-level checks: the row count on a frame of as many rows, and a column's largest or smallest
    # value on a frame of the one value the warehouse finds
    parameters = table_parameters(con, table, on_table)
    rows = count if whole_table else con.execute(f"SELECT count(*) FROM {raw_table}").fetchone()[0]
    frame = pd.DataFrame(index=pd.RangeIndex(rows))
    outcomes += run_suite(table, [e for e in on_table if e not in on_aggregates], frame, parameters, rows=rows)
    # on a full load the typed rows are the table's; otherwise the table's rows are typed here, as a load's are
    every_row = frame_query(table, raw_table, columns_named(table, on_aggregates), load_id, True, zone, raw_types)
    relation = JUDGED if whole_table else f"({every_row}) AS typed_rows"
    for function in sorted({AGGREGATES[e["type"]] for e in on_aggregates}):
        of_function = [e for e in on_aggregates if AGGREGATES[e["type"]] == function]
        frame, judged = aggregate_frame(con, relation, of_function, function)
        outcomes += run_suite(table, judged, frame, parameters, rows=rows)
    # (on a failure the landing rolls back, and the temporary table with it)
    con.execute(f"DROP TABLE {JUDGED}")
    return outcomes


def aggregate_frame(
    con: duckdb.DuckDBPyConnection, relation: str, expectations: list[dict], function: str
) -> tuple[pd.DataFrame, list[dict]]:
    """One row: the aggregate (max or min) of each expectation's column over the relation's rows (typed as the
    checks see them) that meet its row condition; and the expectations, their row conditions applied here."""
    items, judged = [], []
    for expectation in expectations:
        kwargs = dict(expectation["kwargs"])
        value = quote(kwargs["column"])
        condition = kwargs.pop("row_condition", None)
        kwargs.pop("condition_parser", None)
        if condition:
            value = f"{value}) FILTER (WHERE {sql_condition(condition)}"
        items.append(f"{function}({value}) AS {quote(kwargs['column'])}")
        judged.append({**expectation, "kwargs": kwargs})
    frame = con.execute(f"SELECT {', '.join(items)} FROM {relation}").arrow().read_all().to_pandas()
    return frame, judged


def sql_condition(condition: str) -> str:
    """A suite's row condition (`a <= b`: two columns compared) as SQL."""
    match = re.fullmatch(r"(\w+) (<=|<|>=|>|==|!=) (\w+)", condition.strip())
    if not match:
        raise ValueError(f"row condition {condition!r} cannot be judged in the warehouse")
    left, operator, right = match.groups()
    operator = "=" if operator == "==" else operator
    return f"{quote(left)} {operator} {quote(right)}"


def column_expression(table: Table, name: str, zone: str, as_is: bool = False) -> str:
    """A contract or load column as the frames hold it, from the column of that name normalised or read below it
    (frame_query; moments as local time in the session's time zone); `as_is`: the raw column, already of its type."""
    if name in LOAD_COLUMNS:
        return LOAD_COLUMNS[name]
    column = table.column(name)
    if as_is:
        return moment_as_is(quote(name), zone) if column.type == TIMESTAMP else quote(name)
    return typed(column, quote(name), zone)


def columns_named(table: Table, expectations: list[dict]) -> list[str]:
    """The contract and load columns the expectations read, in contract order."""
    named: set[str] = set()
    for expectation in expectations:
        kwargs = expectation["kwargs"]
        named.update(kwargs[a] for a in COLUMN_ARGUMENTS if a in kwargs)
        named.update(kwargs.get("column_set", ()))
        named.update(re.findall(r"\w+", kwargs.get("row_condition", "")))
    return [c for c in (*table.column_names, *LOAD_COLUMNS) if c in named]


def frame_query(
    table: Table, raw_table: str, columns: list[str], load_id: str, whole_table: bool, zone: str, raw_types: dict
) -> str:
    """The load's rows (all the table's if the load replaced it), these columns typed, as a query (each column's
    text normalised once, then typed; a raw column already of its type, `raw_types`, read as it is)."""
    as_is = {n for n in columns if n in table.column_names and (table.column(n).type, raw_types.get(n)) in AS_IT_IS}

    def text(name: str) -> str:
        if name in LOAD_COLUMNS:  # read from _loaded_at as it is, named once however many of them are read
            return "_loaded_at"
        return quote(name) if name in as_is else f"{normalised(table.column(name))} AS {quote(name)}"

    texts = dict.fromkeys(text(name) for name in columns)
    items = [f"{column_expression(table, name, zone, name in as_is)} AS {quote(name)}" for name in columns]
    where = "" if whole_table else f"WHERE _load_id = {literal(load_id)}"
    inner = f"SELECT {', '.join(texts) or '1 AS _row'} FROM {raw_table} {where}"
    return f"SELECT {', '.join(items) or '1 AS _row'} FROM ({inner}) AS texts"


def normalised(column: Column) -> str:
    """The column's text as staging normalises it (macros/staging.sql).

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
        # `{0,1}`, not `?`: GX renders its queries by replacing each `?` with a parameter
        national = f"CASE WHEN regexp_full_match({digits}, '(00){{0,1}}86[0-9]{{11}}') THEN right({digits}, 11) END"
        return f"nullif(coalesce({national}, {digits}), '')"
    return value


def typed(column: Column, text: str, zone: str) -> str:
    """The column as GX judges it, from its normalised text (SQL): its contract type, moments as local time in the
    session's time zone (`zone`), amounts as doubles (GX compares them with numbers, and Decimal objects are slow in
    pandas)."""
    if column.type == TEXT:
        return text
    if column.type == TIMESTAMP:
        return local_moment(text, zone)
    return f"TRY_CAST({text} AS {'DOUBLE' if column.type == DECIMAL else DUCKDB_TYPES[column.type]})"


def local_moment(value: str, zone: str) -> str:
    """Text read as a moment in the session's time zone (`zone`), as local time there.

    A moment written without a zone is its own local time, so it is cast to a timestamp directly: converting it to
    an instant and back costs most of a first load's typing (4 of 5 s for 11M campaign responses). The conversion
    moves only the times the zone's clocks skip, so a moment in such an hour, or written with a zone, is converted.
    """
    plain = f"TRY_CAST({value} AS TIMESTAMP)"
    direct = f"regexp_full_match({value}, '{PLAIN_MOMENT}'){not_skipped(plain, zone)}"
    return f"CASE WHEN {direct} THEN {plain} ELSE CAST(TRY_CAST({value} AS TIMESTAMPTZ) AS TIMESTAMP) END"


def moment_as_is(value: str, zone: str) -> str:
    """A timestamp read as local_moment reads its text: itself, but in a skipped hour or outside PLAIN_MOMENT's
    years, where its text is converted."""
    direct = f"year({value}) BETWEEN 1900 AND 2099{not_skipped(value, zone)}"
    return f"CASE WHEN {direct} THEN {value} ELSE {local_moment(f'CAST({value} AS VARCHAR)', zone)} END"


def not_skipped(moment: str, zone: str) -> str:
    """`AND` the moment is not in an hour the zone's clocks skip (nothing for a zone without any)."""
    if not (skipped := skipped_hours(zone)):
        return ""
    hours = ", ".join(f"TIMESTAMP '{hour}'" for hour in skipped)
    return f" AND date_trunc('hour', {moment}) NOT IN ({hours})"


@cache
def skipped_hours(zone: str) -> tuple[datetime, ...]:
    """The local hours from 1900 to 2099 in which the zone's clocks skip some times, found where its offset from UTC
    grows (looked at day by day, then to the second)."""
    tz, hours, step = ZoneInfo(zone), [], timedelta(days=1)

    def offset(moment: datetime) -> timedelta:
        return moment.astimezone(tz).utcoffset()

    moment = datetime(1900, 1, 1, tzinfo=UTC)
    while moment.year < 2100:
        low, high = moment, moment + step
        before, after = offset(low), offset(high)
        if after > before:
            while high - low > timedelta(seconds=1):  # the change is after low and by high
                middle = low + (high - low) / 2
                low, high = (low, middle) if offset(middle) > before else (middle, high)
            # the skipped local times run from the change plus the old offset to the change plus the new one
            hour = (low + before).replace(tzinfo=None, minute=0, second=0, microsecond=0)
            while hour < (high + after).replace(tzinfo=None):
                hours.append(hour)
                hour += timedelta(hours=1)
        moment += step
    return tuple(hours)


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


@dataclass(frozen=True)
class InWarehouse:
    """Rows GX judges where they are: a query on the landing's own DuckDB connection."""

    con: duckdb.DuckDBPyConnection
    query: str


def run_suite(
    table: Table, expectations: list[dict], data: pd.DataFrame | InWarehouse, parameters: dict, rows: int
) -> list[CheckOutcome]:
    """The expectations judged on the data (a frame, or a query GX runs in the warehouse) of this many rows."""
    if not expectations:
        return []
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = _context()
    name = f"{table.qualified}-{uuid.uuid4().hex[:8]}"
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation_configuration(ExpectationConfiguration(**expectation))
    try:
        result = _batch(context, name, table, data).validate(
            context.suites.add(suite),
            expectation_parameters=parameters,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
    finally:
        context.suites.delete(name)
        context.data_sources.delete(name)
    if isinstance(data, InWarehouse):
        _transaction_still_open(table, data.con, result.results)
    return [_outcome(table, item, rows, parameters) for item in result.results]


def _batch(context, name: str, table: Table, data: pd.DataFrame | InWarehouse):
    if isinstance(data, pd.DataFrame):
        source = context.data_sources.add_pandas(name)
        asset = source.add_dataframe_asset(table.qualified)
        return asset.add_batch_definition_whole_dataframe("landed").get_batch(batch_parameters={"dataframe": data})
    import sqlalchemy as sa

    source = context.data_sources.add_sql(
        name,
        connection_string="duckdb:///:memory:",  # the dialect's name only: connections come from the creator
        kwargs={"creator": lambda: _LandingConnection(data.con), "poolclass": sa.StaticPool},
    )
    # GX knows no DuckDB dialect; for a regex it then writes PostgreSQL's `~`, which DuckDB reads as a full match
    # (the suites' regexes are anchored, so it judges as GX's pandas search does)
    source.get_execution_engine().dialect_module = SimpleNamespace(dialect=sa.dialects.postgresql.dialect)
    asset = source.add_query_asset(table.qualified, query=data.query)
    return asset.add_batch_definition_whole_table("landed").get_batch()


class _LandingConnection(duckdb_engine.ConnectionWrapper):
    """The landing's connection as SQLAlchemy sees it. GX's queries run in the landing's transaction, so they see
    the load before it commits; the begin, commit, rollback and close SQLAlchemy issues around each query are the
    landing's to make and are ignored here (a rollback would also discard the result GX is about to fetch:
    fivetran/great_expectations#11579)."""

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


def _transaction_still_open(table: Table, con: duckdb.DuckDBPyConnection, results) -> None:
    """A query that fails in DuckDB aborts the landing's transaction: the load cannot commit; say which check."""
    try:
        con.execute("SELECT 1").fetchone()
    except duckdb.TransactionException:
        failed = [r for r in results if not r.success and r.exception_info]
        names = ", ".join(r.expectation_config.meta["check"] for r in failed) or "a check"
        message = f"{table.qualified}: {names} could not be judged in the warehouse; the load is rolled back"
        raise CrmsegError(message) from None


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
