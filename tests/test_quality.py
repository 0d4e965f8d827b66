"""Quality gates: the suites, quarantine with reasons, reconciliation, blocking, volume, freshness, drift."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pytest

from crmseg import contract, duck
from crmseg.errors import CrmsegError
from crmseg.landing import ensure_meta, raw_table_name
from crmseg.quality import ERROR, RESULTS_TABLE, WARN, CheckOutcome, QualityGateFailed, mask, record
from crmseg.report import report_path
from crmseg.settings import Settings
from expectations import runner
from expectations.runner import SMALL_LOAD_ROWS, columns_named, load_suite, sample, small_load_allowance, validate
from orchestration.cli import first_failure, main
from tests.conftest import (
    BACKFILL,
    END_DATE,
    NEXT_DAY,
    fingerprint,
    land_sources,
    make_sources,
    materialize,
    raw_counts,
    renamed_required_column,
    serving_state,
    source_urls,
    sqlite,
)

AS_OF = END_DATE.isoformat()

# the reason code each planted kind of dirt must carry in quality.rejected_rows
REASONS = {
    "duplicate_rows": lambda column: "duplicate_key",
    "null_keys": lambda column: f"null_key:{column}",
    "malformed_contacts": lambda column: f"invalid_format:{column}",
    "unknown_enums": lambda column: f"unknown_value:{column}",
    "future_dates": lambda column: f"future_date:{column}",
    "negative_amounts": lambda column: f"out_of_range:{column}",
    "unknown_customer_orders": lambda column: f"unknown_parent:{column}",
    "tickets_without_identifier": lambda column: "no_identifier",
}


def results(warehouse: Path, where: str = "true") -> pd.DataFrame:
    with duck.connect(warehouse, read_only=True) as con:
        return con.execute(f"SELECT * FROM _crmseg.data_quality_results WHERE {where}").df()


def now_local() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")


# -- the runner's own rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mostly", "rows", "allowed_bad_rows"),
    [(0.95, 1000, 50), (0.95, SMALL_LOAD_ROWS, 5), (0.95, 20, 5), (0.95, 3, 3), (0.8, 40, 20)],
)
def test_a_small_load_is_judged_as_if_it_had_the_minimum_rows(mostly, rows, allowed_bad_rows):
    expectation = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x", "mostly": mostly}}
    eased = small_load_allowance(expectation, rows)["kwargs"]["mostly"]
    assert round((1 - eased) * rows, 6) == allowed_bad_rows


def test_an_expectation_without_mostly_is_not_eased():
    expectation = {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "x", "value_set": ["a"]}}
    assert small_load_allowance(expectation, 3) is expectation


def test_the_frame_holds_only_the_columns_the_suite_names():
    orders = contract.table("erp.sales_orders")
    freshness = [e for e in load_suite(orders.qualified)["expectations"] if e["meta"]["check"] == "freshness"]
    assert columns_named(orders, freshness) == ["updated_at", "_loaded_at"]
    volume = [e for e in load_suite(orders.qualified)["expectations"] if e["meta"]["check"] == "volume"]
    assert columns_named(orders, volume) == []


@pytest.mark.parametrize("table", contract.TABLES, ids=lambda t: t.qualified)
def test_every_suite_is_complete_and_names_real_columns(table):
    suite = load_suite(table.qualified)
    checks = [e["meta"]["check"] for e in suite["expectations"]]
    assert len(checks) == len(set(checks)), "check names are unique per table"
    assert {e["meta"]["severity"] for e in suite["expectations"]} <= {ERROR, WARN}
    assert "volume" in checks and "required_columns" in checks
    for key in table.key:
        assert any(key in c and ("not_null" in c or "unique" in c) for c in checks), key
    names = set(table.column_names) | {"_loaded_at", "_loaded_on"}
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        for argument in ("column", "column_A", "column_B"):
            assert kwargs.get(argument, "_loaded_at") in names, (expectation["meta"]["check"], argument)


def test_every_suite_regex_is_anchored():
    """DuckDB reads the `~` GX writes as a full match, GX's pandas as a search: alike only for anchored regexes."""
    for table in contract.TABLES:
        for expectation in load_suite(table.qualified)["expectations"]:
            regex = expectation["kwargs"].get("regex")
            assert regex is None or (regex.startswith("^") and regex.endswith("$")), (table.qualified, regex)


@pytest.mark.parametrize("table", contract.TABLES, ids=lambda t: t.qualified)
def test_the_warehouse_judges_a_load_as_gx_pandas_judges_the_same_rows(landed, table):
    """Every load-level check, judged by GX in DuckDB, gives the outcome GX's pandas gives on the same typed rows
    (the demo sources carry planted dirt, so checks fail, with counts and samples to compare)."""
    checks = [e for e in load_suite(table.qualified)["expectations"] if runner.scope(e) == runner.LOAD]
    with duck.connect(landed, timezone="Asia/Shanghai") as con:
        raw = raw_table_name(table)
        named = columns_named(table, checks)
        query = runner.frame_query(table, raw, named, "", True, "Asia/Shanghai", duck.column_types(con, raw))
        rows = con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
        in_duckdb = runner.run_suite(table, checks, runner.InWarehouse(con, query), {}, rows=rows)
        frame = con.execute(query).arrow().read_all().to_pandas()
        in_pandas = runner.run_suite(table, checks, frame, {}, rows=rows)
    # which duplicates a uniqueness check shows is the database's choice: each must be a repeated value
    for outcome in in_duckdb:
        if outcome.check_type == "expect_column_values_to_be_unique" and not table.column(outcome.column).personal:
            assert all((frame[outcome.column] == value).sum() > 1 for value in outcome.sample), outcome
    unordered = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
    comparable = [[replace(o, sample=()) if o.check_type in unordered else o for o in outcomes]
                  for outcomes in (in_duckdb, in_pandas)]  # fmt: skip
    assert sorted(comparable[0], key=str) == sorted(comparable[1], key=str)
    assert not any(o.observed.startswith("error") for o in in_duckdb), [o.observed for o in in_duckdb]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "UTC"])
def test_a_moment_is_read_as_local_time_as_converting_it_reads_it(zone):
    """A moment written without a zone is cast directly, except in the hours the zone's clocks skip: every text reads
    as converting it to an instant and back reads it, around every clock change of the zone and in other forms."""
    skipped = runner.skipped_hours(zone)
    assert bool(skipped) == (zone != "UTC")
    if zone == "America/New_York":
        assert datetime(2026, 3, 8, 2) in skipped and datetime(2026, 3, 8, 12) not in skipped
    around = {hour + timedelta(minutes=minutes) for hour in skipped for minutes in range(-90, 150, 5)}
    texts = [f"{moment:%Y-%m-%d %H:%M:%S}" for moment in sorted(around)] + [
        "2026-06-30 12:34:56", "2026-06-30T12:34:56.123456", "2026-06-30 12:34", "2026-06-30", "2026-02-30 10:00:00",
        "2026-06-30 12:34:56+00:00", "2026-06-30T04:00:00Z", "2026-06-30 12:34:56-05:30", "1850-01-01 08:00:00",
        "2150-07-01 08:00:00", "30/06/2026", "not a moment", "",
    ]  # fmt: skip
    with duck.connect(timezone=zone) as con:
        con.execute("CREATE TABLE texts (value VARCHAR)")
        con.executemany("INSERT INTO texts VALUES (?)", [[text] for text in texts])
        differing = con.execute(
            f"SELECT value, {runner.local_moment('value', zone)} AS direct, CAST(TRY_CAST(value AS TIMESTAMPTZ) "
            "AS TIMESTAMP) AS converted FROM texts WHERE direct IS DISTINCT FROM converted"
        ).fetchall()
        # and a timestamp column (a SQLite table landed typed) as its text reads
        con.execute("CREATE TABLE moments AS SELECT TRY_CAST(value AS TIMESTAMP) AS value FROM texts")
        differing += con.execute(
            f"SELECT value, {runner.moment_as_is('value', zone)} AS as_is, "
            f"{runner.local_moment('CAST(value AS VARCHAR)', zone)} AS as_text FROM moments "
            "WHERE as_is IS DISTINCT FROM as_text"
        ).fetchall()
    assert differing == []


@pytest.mark.parametrize("table", contract.TABLES, ids=lambda t: t.qualified)
def test_the_checks_read_a_typed_raw_column_as_they_read_its_text(landed, table):
    """A SQLite table lands typed (whole numbers, floats, dates, timestamps): the checks read those columns as they
    are, and every row they see is the row they see in a copy of the table holding every value as text."""
    raw = raw_table_name(table)
    named = [*table.column_names, "_loaded_at", "_loaded_on"]
    with duck.connect(landed, timezone="Asia/Shanghai") as con:
        types = duck.column_types(con, raw)
        assert table.qualified not in ("crm.accounts", "erp.sales_order_lines") or set(types.values()) > {"VARCHAR"}
        as_text = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in table.column_names)
        con.execute(f"CREATE TEMP TABLE as_text AS SELECT {as_text}, _load_id, _loaded_at FROM {raw}")
        text_types = duck.column_types(con, "as_text")
        typed, from_text = (
            runner.frame_query(table, relation, named, "", True, "Asia/Shanghai", types_)
            for relation, types_ in ((raw, types), ("as_text", text_types))
        )
        assert con.execute(f"DESCRIBE {typed}").fetchall() == con.execute(f"DESCRIBE {from_text}").fetchall()
        differing = con.execute(f"({typed} EXCEPT ALL {from_text}) UNION ALL ({from_text} EXCEPT ALL {typed})")
        assert differing.fetchall() == []


def test_the_checks_see_the_load_inside_its_transaction_and_leave_it_to_the_landing():
    campaigns = contract.table("crm.campaigns")
    columns = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in campaigns.column_names)
    with duck.connect() as con:
        ensure_meta(con)
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE SCHEMA raw_crm")
        con.execute(f"CREATE TABLE raw_crm.campaigns AS SELECT {columns}, 'L1' AS _load_id, "
                    "current_timestamp AS _loaded_at FROM range(200)")  # fmt: skip
        con.execute("UPDATE raw_crm.campaigns SET campaign_id = 'C' || (rowid % 150)")
        outcomes = {o.check: o for o in validate(con, campaigns, "raw_crm.campaigns", "L1", True)}
        assert outcomes["campaign_id_unique"].unexpected_count == 100  # 50 ids twice
        assert not outcomes["campaign_id_unique"].passed
        con.execute("ROLLBACK")  # the landing's transaction was still open: the table goes with it
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'campaigns'").fetchone() == (0,)


def test_the_suites_run_within_their_own_memory_limit_and_leave_crmseg_its_own(monkeypatch):
    """CRMSEG_SUITES_MEMORY_LIMIT while the suites run (never above crmseg's own), crmseg's own limit after, and after
    an error in an aborted transaction the error itself."""
    monkeypatch.setenv("CRMSEG_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("CRMSEG_SUITES_MEMORY_LIMIT", "500MB")
    campaigns = contract.table("crm.campaigns")
    limit = "SELECT current_setting('memory_limit')"
    seen = []

    def watched_run_suite(*args, **kwargs):
        seen.append(con.execute(limit).fetchone()[0])
        return real_run_suite(*args, **kwargs)

    real_run_suite = runner.run_suite
    monkeypatch.setattr(runner, "run_suite", watched_run_suite)
    with duck.connect() as con:
        ensure_meta(con)
        con.execute("CREATE SCHEMA raw_crm")
        columns = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in campaigns.column_names)
        con.execute(f"CREATE TABLE raw_crm.campaigns AS SELECT {columns}, 'L1' AS _load_id, "
                    "current_timestamp AS _loaded_at FROM range(20)")  # fmt: skip
        assert validate(con, campaigns, "raw_crm.campaigns", "L1", True)
        assert seen and set(seen) == {"476.8 MiB"}
        assert con.execute(limit).fetchone()[0] == "953.6 MiB"
        with duck.memory_lowered(con, "2GB"):  # a limit above crmseg's own is not taken
            assert con.execute(limit).fetchone()[0] == "953.6 MiB"
        con.execute("BEGIN TRANSACTION")
        with pytest.raises(duckdb.InvalidInputException, match="a bad row"), duck.memory_lowered(con, "500MB"):
            con.execute("SELECT error('a bad row')")
        con.execute("ROLLBACK")
    monkeypatch.setenv("CRMSEG_SUITES_MEMORY_LIMIT", "half")
    with pytest.raises(CrmsegError, match="CRMSEG_SUITES_MEMORY_LIMIT: not an amount of memory"):
        Settings.from_env()


def test_a_check_the_warehouse_cannot_run_stops_the_load_with_one_line(monkeypatch):
    campaigns = contract.table("crm.campaigns")
    broken = {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "campaign_id", "regex": "^(?<=C)1$"},
              "meta": {"severity": WARN, "check": "campaign_id_format"}}  # fmt: skip
    monkeypatch.setattr(runner, "load_suite", lambda qualified: {"expectations": [broken]})
    with duck.connect() as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE SCHEMA raw_crm")
        con.execute("CREATE TABLE raw_crm.campaigns AS SELECT 'C1' AS campaign_id, 'L1' AS _load_id")
        with pytest.raises(CrmsegError) as raised:
            validate(con, campaigns, "raw_crm.campaigns", "L1", True)
    assert str(raised.value) == (
        "crm.campaigns: campaign_id_format could not be judged in the warehouse; the load is rolled back"
    )


def test_a_failure_is_one_line_naming_table_column_and_check():
    rows = CheckOutcome("erp.sales_orders", "customer_code_not_null", "expect_column_values_to_not_be_null",
                        "customer_code", ERROR, False, 2000, 600, 30.0)  # fmt: skip
    volume = CheckOutcome("crm.campaigns", "volume", "expect_table_row_count_to_be_between", None, ERROR, False,
                          100, observed="100 rows", expected=">= 176 rows")  # fmt: skip
    assert rows.describe() == (
        "erp.sales_orders.customer_code: expect_column_values_to_not_be_null failed for 600 of 2,000 rows "
        "(30.0%, check customer_code_not_null)"
    )
    assert volume.describe() == (
        "crm.campaigns: expect_table_row_count_to_be_between failed: 100 rows, expected >= 176 rows (check volume)"
    )
    assert str(QualityGateFailed([rows, volume])) == rows.describe() + " (and 1 more blocking checks)"


def test_personal_values_are_masked_in_samples():
    assert mask("li.wei@example.com") == "l***(18 chars)"
    assert "example" not in mask("li.wei@example.com")
    assert sample(["li.wei@example.com", None], personal=True) == ("l***(18 chars)", "null")


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        # a pair check (column_A, column_B): B came after A
        (
            [(np.datetime64("2026-11-30T23:05:43.575781"), np.datetime64("2036-08-10T16:00:00"))],
            ("2036-08-10 16:00 > 2026-11-30 23:05:43",),
        ),
        ([(date(2026, 12, 1), date(2036, 8, 13))], ("2036-08-13 > 2026-12-01",)),
        ([float("nan"), None, pd.NaT, np.nan], ("null",)),
        ([np.float64(-25317.37), Decimal("-2199.49"), np.int64(12345)], ("-25317.37", "-2199.49", "12,345")),
        (["ACC0000164", "ACC0000166", "ACC0000164"], ("ACC0000164", "ACC0000166")),
        ([pd.Timestamp("2037-04-13")], ("2037-04-13 00:00",)),
    ],
    ids=["moments", "dates", "missing", "numbers", "each_once", "timestamp"],
)
def test_samples_hold_values_a_person_reads(values, shown):
    """Regression: samples held Python and NumPy representations, e.g. np.datetime64('2036-08-10T16:00:00.000000')."""
    assert sample(values, personal=False) == shown


# -- a clean run ------------------------------------------------------------------------------------


def test_a_clean_run_passes_every_blocking_check_and_records_the_warnings(built_two_dates):
    everything = results(built_two_dates.warehouse)
    assert everything[(everything["severity"] == ERROR) & ~everything["passed"]].empty  # in either run
    checks = everything[everything["run_id"] == built_two_dates.run_ids[END_DATE]]
    assert set(checks["as_of_date"].astype(str)) == {AS_OF}
    assert checks[(checks["severity"] == ERROR) & ~checks["passed"]].empty
    assert (checks["severity"] == ERROR).sum() > 0
    assert (~checks["passed"] & (checks["severity"] == WARN)).sum() > 0  # the planted dirt shows as warnings
    # the suites on every raw table and the dbt tests on the models are all there
    assert {t.qualified for t in contract.TABLES} <= set(checks["table_name"])
    assert {"marts.customer_segments", "quality.raw_reconciliation"} <= set(checks["table_name"])
    reconciliation = checks[checks["check_name"] == "assert_raw_equals_staged_plus_rejected"]
    assert reconciliation[["severity", "passed"]].values.tolist() == [[ERROR, True]]


def test_the_run_report_shows_the_checks_and_the_rejected_rows(built_two_dates):
    html = built_two_dates.report(END_DATE).read_text()
    assert "every blocking check passed" in html
    assert "customer_code_not_null" in html and "assert_raw_equals_staged_plus_rejected" in html
    assert "unknown_value:status" in html  # the rejected-rows section
    assert "<script" not in html and "http" not in html  # opens offline


def test_every_planted_kind_of_dirt_is_rejected_with_its_reason_and_counts_reconcile(built_two_dates, demo_sources):
    planted = json.loads((demo_sources / "manifest.json").read_text())["dirty"]
    with duck.connect(built_two_dates.warehouse, read_only=True) as con:
        reasons = dict(
            ((table, reason), count)
            for table, reason, count in con.execute(
                "SELECT source_table, reason, count(*) FROM "
                "(SELECT source_table, unnest(string_split(reject_reasons, ';')) AS reason FROM quality.rejected_rows) "
                "GROUP BY ALL"
            ).fetchall()
        )
        reconciliation = con.execute("SELECT * FROM quality.raw_reconciliation").df()
    for kind, where in planted.items():
        if kind == "messy_contacts":
            continue  # normalised and staged, not rejected: checked by the invalid_format counts below
        for place, count in where.items():
            table, column = ".".join(place.split(".")[:2]), place.split(".")[-1]
            found = reasons.get((table, REASONS[kind](column)), 0)
            if kind == "unknown_customer_orders":
                # orders of a customer whose own key was nulled are unknown too
                assert found >= count, (kind, place)
            else:
                assert found == count, (kind, place, found)
    assert sum(n for (_, reason), n in reasons.items() if reason.startswith("invalid_format")) == sum(
        planted["malformed_contacts"].values()
    )
    assert set(reconciliation["source_table"]) == {t.qualified for t in contract.TABLES}
    assert (reconciliation["raw_rows"] == reconciliation["staged_rows"] + reconciliation["rejected_rows"]).all()
    assert reconciliation["rejected_rows"].sum() > 0


# -- gates that stop the run: the extract asset concerned, on a warehouse that holds a good landing -----


def null_customer_codes(sources: Path) -> None:
    """An ERP orders extract with 30% null customer codes: every order changed, three in ten lost their code."""
    sqlite(
        sources / "erp.sqlite",
        f"UPDATE sales_orders SET updated_at = '{now_local()}'",
        "UPDATE sales_orders SET customer_code = NULL WHERE abs(random()) % 10 < 3",
    )


NULL_CODES = (
    r"erp\.sales_orders\.customer_code: expect_column_values_to_not_be_null "
    r"failed for [\d,]+ of [\d,]+ rows \(\d\d\.\d%, check customer_code_not_null\)"
)


@pytest.mark.parametrize(
    ("poison", "message"),
    [
        (null_customer_codes, NULL_CODES),
        (renamed_required_column, r"erp\.sales_orders\.customer_code: required column is missing"),
    ],
    ids=["null_customer_codes", "renamed_required_column"],
)
def test_a_poisoned_source_fails_its_extract_with_one_line_and_leaves_its_table(env, landed, poison, message):
    before = fingerprint(landed)
    poison(env)

    result = materialize("raw_erp/sales_orders")

    assert not result.success
    assert re.fullmatch(message, first_failure(result)), first_failure(result)
    # the poisoned load was rolled back
    assert fingerprint(landed)["raw_erp.sales_orders"] == before["raw_erp.sales_orders"]


def test_a_failed_gate_is_recorded_with_its_counts_and_reported(env, landed):
    null_customer_codes(env)
    result = materialize("raw_erp/sales_orders")
    assert not result.success
    failed = results(landed, "NOT passed AND severity = 'error'")
    assert failed[["table_name", "check_name", "column_name"]].values.tolist() == [
        ["erp.sales_orders", "customer_code_not_null", "customer_code"]
    ]
    assert 25 < failed["unexpected_percent"][0] < 35
    report = report_path(Settings.from_env().reports_dir, result.run_id)
    assert "1 blocking check(s) failed" in report.read_text()


@pytest.mark.parametrize("full_refresh", [False, True], ids=["reloaded_table", "full_refresh"])
def test_volume_check_blocks_a_shrunken_source(env, landed, full_refresh):
    """Campaigns are reloaded whole every night; any table is on a full refresh."""
    source, table = ("erp", "sales_orders") if full_refresh else ("crm", "campaigns")
    before = raw_counts(landed)
    sqlite(env / f"{source}.sqlite", f"DELETE FROM {table} WHERE rowid % 2 = 0")

    result = materialize(f"raw_{source}/{table}", extract_config={"full_refresh": full_refresh})

    assert not result.success
    failure = first_failure(result)
    assert re.fullmatch(
        rf"{source}\.{table}: expect_table_row_count_to_be_between failed: [\d,]+ rows, "
        rf"expected >= [\d,]+ rows \(check volume\)",
        failure,
    ), failure
    assert raw_counts(landed)[f"{source}.{table}"] == before[f"{source}.{table}"]


# -- the whole pipeline on a poisoned source --------------------------------------------------------


def test_a_poisoned_source_stops_the_run_before_the_models_and_changes_nothing(env, capsys, built_copy):
    """A failed blocking check stops the run before the models and publishing; what was built and published stays."""
    warehouse = built_copy / "warehouse.duckdb"
    before, published_before = fingerprint(warehouse), serving_state(built_copy)
    assert any(name.startswith("marts.") for name in before)
    null_customer_codes(env)
    capsys.readouterr()

    assert main(["run", "--as-of", AS_OF]) == 1

    captured = capsys.readouterr()
    assert re.fullmatch(f"error: {NULL_CODES}", captured.err.strip()), captured.err
    assert "dbt:" not in captured.out  # no model was built
    after = fingerprint(warehouse)
    # the poisoned load was rolled back and no model ran: the table and everything built on it are as they were
    assert after["raw_erp.sales_orders"] == before["raw_erp.sales_orders"]
    models = ("staging.", "intermediate.", "quality.", "marts.")
    assert {n: v for n, v in after.items() if n.startswith(models)} == {
        n: v for n, v in before.items() if n.startswith(models)
    }
    assert serving_state(built_copy) == published_before


# -- freshness, drift and empty segment tables -------------------------------------------------------


def test_freshness_warns_on_a_stale_source_and_passes_on_a_fresh_one(built_two_dates, tmp_path):
    """The demo sources of the tests end on END_DATE, months ago: stale. Sources ending today are fresh, whatever
    the time of day (the last account update of seed 3 is two days and some hours before its end, and accounts
    must have changed within 3 days)."""
    stale = results(
        built_two_dates.warehouse, f"check_name = 'freshness' AND run_id = '{built_two_dates.run_ids[END_DATE]}'"
    )
    assert len(stale) == 6 and set(stale["severity"]) == {WARN} and not stale["passed"].any()
    assert stale["observed"].str.startswith(str(END_DATE)[:7]).all()

    today = Settings.from_env({}).yesterday() + timedelta(days=1)
    make_sources(tmp_path / "fresh", customers=100, seed=3, end_date=today)
    fresh = [
        outcome
        for landing in land_sources(
            tmp_path / "warehouse.duckdb", source_urls(tmp_path / "fresh"), validate=validate
        ).values()
        for outcome in landing.checks
        if outcome.check == "freshness"
    ]
    assert len(fresh) == 6 and all(outcome.passed for outcome in fresh)


def drift_check(warehouse: Path, run_id: str) -> dict:
    [row] = results(warehouse, f"check_name = 'assert_segment_sizes_steady' AND run_id = '{run_id}'").to_dict("records")
    return row


def test_drift_warns_when_segments_move_since_the_previous_date(built_two_dates, runs_over_time):
    """The two-date build ran END_DATE first, with no earlier date to drift from. The backfill's first date comes six
    weeks after the date before it in the history, and the demo's segments move in six weeks."""
    first = drift_check(built_two_dates.warehouse, built_two_dates.run_ids[END_DATE])
    backfill = drift_check(runs_over_time.warehouse, runs_over_time.backfill.run_id)
    assert first["severity"] == backfill["severity"] == WARN
    assert first["passed"]

    with duck.connect(runs_over_time.warehouse, read_only=True) as con:
        sizes = con.execute(
            "SELECT CAST(as_of_date AS VARCHAR) AS as_of_date, dimension, segment, customers "
            "FROM marts.segment_summary "
            "WHERE dimension IN ('strategy_group', 'rfm_segment', 'abc_class') AND segment <> 'not_scored'"
        ).df()
    sizes = sizes.pivot_table(index=["dimension", "segment"], columns="as_of_date", values="customers").fillna(0)
    backfilled = {d.isoformat() for d in (BACKFILL[0], END_DATE, NEXT_DAY)}
    moved = sum(
        int(((sizes[date] - sizes[previous]).abs() > 0.2 * sizes[previous]).sum())  # more than drift_max_share
        for previous, date in itertools.pairwise(sorted(sizes.columns))
        if date in backfilled
    )
    assert moved >= 2
    assert not backfill["passed"] and backfill["unexpected_count"] == moved


def test_an_empty_segment_table_blocks_the_models(env, tmp_path):
    """Sources that hold no customers at all, every table an empty file: they pass their suites and land, and then
    the models build empty segment tables, which must never be published."""
    urls = {}
    for source in contract.SOURCES:
        urls[source] = tmp_path / "empty" / source
        urls[source].mkdir(parents=True)
        for table in contract.tables_of(source):
            (urls[source] / f"{table.name}.csv").touch()
    land_sources(Settings.from_env().warehouse_path, urls, validate=validate)

    result = materialize("dbt")

    assert not result.success
    failure = first_failure(result)
    assert re.fullmatch(r"marts\.\w+: dbt test \w+ failed for \d+ rows \(check \w+\)( \(and \d+ more .*)?", failure), (
        failure
    )


def test_a_step_without_outcomes_records_none():
    """A dbt build that ended before its first test has no outcomes: nothing is recorded, and its own error stands."""
    with duck.connect() as con:
        record(con, [], "run-1", None)
        assert con.execute(f"SELECT count(*) FROM {RESULTS_TABLE}").fetchone()[0] == 0
