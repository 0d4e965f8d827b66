"""The Dagster definitions and the `crmseg` CLI: wiring, runs in the instance, the demo, one-line failures."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import psycopg
import pytest
import yaml

from assets.dbt import DBT_PROJECT_DIR
from crmseg import contract, duck
from crmseg.settings import SOURCE_URL_VARS, Settings
from orchestration.cli import first_failure, main
from orchestration.definitions import JOB_NAME, SCHEDULE_NAME, build_definitions
from orchestration.progress import Progress
from tests.conftest import (
    BUILT_DATES,
    fingerprint,
    materialize,
    pg_state,
    reader_url,
    renamed_required_column,
    sqlite,
)

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.txt"


def wiring(defs: dg.Definitions) -> str:
    """Asset keys and groups, checks, jobs, schedules and sensors as text: wiring changes show up in review."""
    graph = defs.resolve_asset_graph()
    lines = [
        f"asset {key.to_user_string()} [{graph.get(key).group_name}]"
        + (" fresh by '0 6 * * *'" if graph.get(key).freshness_policy else "")
        for key in sorted(graph.get_all_asset_keys())
    ]
    lines += sorted(f"check {check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys)
    lines += [f"job {job.name}" for job in defs.jobs]
    schedule = defs.resolve_schedule_def(SCHEDULE_NAME)
    lines += [
        f"schedule {schedule.name} '{schedule.cron_schedule}' {schedule.execution_timezone} -> {schedule.job_name}"
    ]
    lines += [f"sensor {sensor.name} ({sensor.default_status.value})" for sensor in defs.sensors]
    return "\n".join(lines) + "\n"


def test_definitions_snapshot(env):
    """To accept a deliberate change: UPDATE_SNAPSHOTS=1 pytest tests/test_orchestration.py"""
    settings = Settings.from_env()
    defs = build_definitions(settings)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(wiring(defs))
    assert wiring(defs) == SNAPSHOT.read_text()
    job = defs.resolve_job_def(JOB_NAME)
    assert job.partitions_def.get_first_partition_key() == "2026-01-01"
    assert job.partitions_def.timezone == "Asia/Shanghai"
    assert set(defs.resources) == {"warehouse", "serving", "crm_source", "erp_source", "service_source", "dbt"}


def test_workspace_loads_the_same_definitions(env):
    from orchestration.definitions import defs

    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    assert loaded.resolve_job_def(JOB_NAME) is not None


def test_a_run_lands_every_table_and_is_recorded_in_the_instance(built_two_dates, monkeypatch):
    for as_of in BUILT_DATES:
        assert f"run for {as_of} succeeded" in built_two_dates.printed[as_of]
    with duck.connect(built_two_dates.warehouse, read_only=True) as con:
        for table in contract.TABLES:
            assert con.execute(f"SELECT count(*) FROM raw_{table.source}.{table.name}").fetchone()[0] > 0
    monkeypatch.setenv("DAGSTER_HOME", built_two_dates.settings["DAGSTER_HOME"])
    runs = dg.DagsterInstance.get().get_runs(filters=dg.RunsFilter(job_name=JOB_NAME))
    assert {run.run_id: run.tags["crmseg/as_of_dates"] for run in runs} == {
        run_id: f"{as_of}..{as_of}" for as_of, run_id in built_two_dates.run_ids.items()
    }


def test_a_run_prints_each_step_as_it_finishes_with_the_time_since_it_began(built_two_dates):
    """Output to a file or a pipe (here a buffer): plain lines, one per table landed, dbt model and the publish."""
    for as_of in BUILT_DATES:
        lines = [line for line in built_two_dates.printed[as_of].splitlines() if line.startswith("[")]
        stamps = [float(m[1]) * 60 + float(m[2]) for m in (re.match(r"\[(\d\d):(\d\d\.\d)\] ", x) for x in lines)]
        assert stamps == sorted(stamps) and stamps[-1] > 0
        steps = [line.split("] ", 1)[1] for line in lines]
        for table in contract.TABLES:
            landed = rf"{table.qualified}: (full|incremental) load of [\d,]+ rows( \([\d,]+ as landed before\))?, "
            assert any(re.fullmatch(landed + r".* \d+ checks, .*", step) for step in steps), table.qualified
        built = [step for step in steps if step.startswith("dbt ")]
        assert built and built[-1].startswith(f"dbt {len(built)} of {len(built)}: ")
        assert steps[-1].startswith(f"published {max(BUILT_DATES)} to ")


def test_the_progress_bar_shows_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def shown(steps: int, dbt_steps: int, *messages: str) -> str:
        screen = Terminal()
        progress = Progress(steps=steps, stream=screen)
        progress.dbt_steps = dbt_steps
        for message in messages:
            record = logging.LogRecord("dagster", logging.INFO, "", 0, message, None, None)
            record.dagster_meta = {"orig_message": message, "dagster_event": None}
            progress.emit(record)
        progress.close()
        return screen.getvalue()

    screen = shown(4, 2, "crm.accounts: full load of 3 rows, 3 in raw_crm.accounts", "quality report: x.html")
    assert "crm.accounts: full load of 3 rows" in screen and "quality report" not in screen
    assert "██████░░░░░░░░░░░░░░░░░░ 1/4" in screen
    # a backfill in two chunks of dates builds each of the 2 dbt models twice: 6 steps, not 4
    assert "████░░░░░░░░░░░░░░░░░░░░ 1/6" in shown(4, 2, "dbt 1 of 4: marts.customer_segments")


def test_quiet_prints_nothing_but_the_failure(env, capsys):
    renamed_required_column(env)
    assert main(["run", "--quiet", "--as-of", "2026-06-30"]) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.count("\n") == 1 and "customer_code" in printed.err, printed.err


def test_usage_errors_are_one_line(env, capsys):
    assert main(["run", "--as-of", "2019-12-31"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: --as-of 2019-12-31 is outside the partitions 2026-01-01 .. "
        f"{Settings.from_env().yesterday()} (CRMSEG_START_DATE to yesterday in Asia/Shanghai)"
    )
    assert main(["run", "--vars", "[1]"]) == 1
    assert "--vars must be a JSON object" in capsys.readouterr().err


def test_demo_generates_runs_publishes_and_summarises(tmp_path, monkeypatch, capsys, postgres_url):
    """What `make demo` runs after installing, here with PostgreSQL publishing on as in production: the demo's own
    company of 2,000 customers ending yesterday, so every source is fresh, built for the month up to yesterday in
    one run, so that the 30-day window after its first date shows the planted effect (SPEC section 9)."""
    for name in (*SOURCE_URL_VARS.values(), "CRMSEG_START_DATE", "CRMSEG_TIMEZONE", "CRMSEG_DAGSTER_POSTGRES_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRMSEG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRMSEG_PUBLISH_POSTGRES_URL", postgres_url)
    settings = Settings.from_env()
    monkeypatch.setenv("DAGSTER_HOME", str(settings.dagster_home))  # where it goes when unset
    yesterday = settings.yesterday().isoformat()
    first = (settings.yesterday() - timedelta(days=30)).isoformat()

    assert main(["demo"]) == 0

    out = capsys.readouterr().out
    assert "demo sources: generated 2,000 customers" in out
    assert f"pipeline backfill {first} .. {yesterday} succeeded" in out
    assert f"30 days after {first}  risk" in out
    assert f"published {yesterday} (" in out and "PostgreSQL: schema crmseg" in out
    assert f"segments as of {yesterday}:" in out and "blocking checks passed" in out
    with duck.connect(settings.warehouse_path, read_only=True) as con:
        for table in contract.TABLES:
            assert con.execute(f"SELECT count(*) FROM raw_{table.source}.{table.name}").fetchone()[0] > 0
        freshness = con.execute(
            "SELECT passed FROM _crmseg.data_quality_results WHERE check_name = 'freshness'"
        ).fetchall()
    assert freshness == [(True,)] * 6  # every source with a freshness check changed within its window
    [run] = dg.DagsterInstance.get().get_runs()
    assert run.tags["crmseg/as_of_dates"] == f"{first}..{yesterday}" and run.is_success

    # PostgreSQL holds what the serving file holds, and its reader can read it
    run_id, as_of, segments, strategy, latest, checks = pg_state(postgres_url)
    with duck.connect(settings.serving_dir / "crmseg.duckdb", read_only=True) as con:
        assert con.execute("SELECT run_id FROM _published").fetchone()[0] == run_id == run.run_id
        assert con.execute("SELECT count(*) FROM customer_segments").fetchone()[0] == segments
        assert con.execute("SELECT count(*) FROM data_quality_results").fetchone()[0] == checks
    assert as_of == latest == yesterday and segments == strategy > 0
    with psycopg.connect(reader_url(postgres_url), autocommit=True) as pg:
        assert pg.execute("SELECT count(*) FROM crmseg.customer_segments").fetchone()[0] == segments
        # SPEC section 9: the control group is control_share (0.10) of the demo's customers, up to the chance of a
        # hash over about 2,000 customers (three standard deviations of a binomial share: 2 points)
        customers, control = pg.execute(
            "SELECT count(*), count(*) FILTER (WHERE treatment_group = 'control') FROM crmseg.strategy_assignments"
        ).fetchone()
        assert abs(control / customers - 0.10) <= 3 * (0.10 * 0.90 / customers) ** 0.5
        # the win-back programme planted in the risk group shows: its treated customers bought more than its control
        effects = pg.execute(
            "SELECT strategy_group, repurchase_lift, significant FROM crmseg.strategy_effects "
            f"WHERE as_of_date = DATE '{first}' AND horizon_days = 30"
        ).fetchall()
        assert {group for group, _, _ in effects} == {"high_value", "growth", "potential", "risk"}
        assert [(lift > 0, significant) for group, lift, significant in effects if group == "risk"] == [(True, True)]


# -- bad input: the extract asset concerned, on a warehouse that holds a good landing -------------------


def unreachable(sources, monkeypatch):
    monkeypatch.setenv("CRMSEG_CRM_URL", "postgresql://postgres@127.0.0.1:1/crm")


def missing_table(sources, monkeypatch):
    sqlite(sources / "erp.sqlite", "DROP TABLE sales_order_lines")


def missing_required_column(sources, monkeypatch):
    sqlite(sources / "erp.sqlite", "ALTER TABLE sales_orders RENAME COLUMN order_date TO placed_on")


def unreadable_file(sources, monkeypatch):
    with open(sources / "service" / "tickets.jsonl", "a") as file:
        file.write('{"ticket_id": "T-BROKEN", "created_at": \n')


def wrong_type(sources, monkeypatch):
    # stamped now, so that the incremental run reads it: the generator plants updates up to today
    now = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    sqlite(
        sources / "erp.sqlite",
        f"UPDATE sales_orders SET total_amount = 'abc', updated_at = '{now}' "
        "WHERE order_id = (SELECT min(order_id) FROM sales_orders)",
    )


@pytest.mark.parametrize(
    ("breakage", "asset", "message", "failed_table"),
    [
        (
            unreachable,
            "raw_crm/accounts",
            r"crm\.\w+: cannot reach postgresql://postgres@127\.0\.0\.1:1/crm: .*Connection refused",
            None,
        ),
        (
            missing_table,
            "raw_erp/sales_order_lines",
            r"erp\.sales_order_lines: table not found in sqlite:///.*/erp\.sqlite",
            "raw_erp.sales_order_lines",
        ),
        (
            missing_required_column,
            "raw_erp/sales_orders",
            r"erp\.sales_orders\.order_date: required column is missing",
            "raw_erp.sales_orders",
        ),
        (
            unreadable_file,
            "raw_service/tickets",
            r"service\.tickets: cannot read: .*Malformed JSON",
            "raw_service.tickets",
        ),
        (
            wrong_type,
            "raw_erp/sales_orders",
            r"erp\.sales_orders\.total_amount: 1 value is not decimal \(first: 'abc'\)",
            "raw_erp.sales_orders",
        ),
    ],
    ids=["unreachable", "missing_table", "missing_required_column", "unreadable_file", "wrong_type"],
)
def test_bad_input_fails_with_one_line_and_loses_nothing(
    env, monkeypatch, landed, breakage, asset, message, failed_table
):
    before = fingerprint(landed)

    breakage(env, monkeypatch)
    result = materialize(asset, extract_config={"retry_seconds": 0.01})

    assert not result.success
    failure = first_failure(result)  # the line `crmseg run` prints after "error: "
    assert "\n" not in failure and re.match(message, failure), failure
    after = fingerprint(landed)
    # every landed row is still there; the table that failed was not touched at all
    for name, (rows, _) in before.items():
        if name.startswith("raw_"):
            assert after[name][0] == rows, name
    if failed_table:
        assert after[failed_table] == before[failed_table]


def dbt_log_events(log: Path) -> list[str]:
    """The names of the events in a dbt build's JSON log."""
    return [json.loads(line)["info"]["name"] for line in log.read_text().splitlines() if line.startswith("{")]


def test_each_dbt_build_has_its_target_and_the_next_night_parses_nothing(built_two_dates):
    """The second run starts from the parse the first left, its dates in the environment, not in dbt's vars."""
    from assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR, PARTIAL_PARSE, DbtCli

    targets = built_two_dates.data_dir / "dbt" / "target"
    first, second = (targets / f"{built_two_dates.run_ids[as_of][:8]}-1" for as_of in sorted(BUILT_DATES, reverse=True))
    for target in (first, second):
        assert (target / "run_results.json").exists() and (target / "dbt.log").exists()
    # the first build stages every landed row, one model at a time; the next takes dbt's threads (profiles.yml)
    args = [json.loads((target / "run_results.json").read_text())["args"] for target in (first, second)]
    assert [a.get("threads") for a in args] == [1, None]
    assert (targets / PARTIAL_PARSE).read_bytes() == (second / PARTIAL_PARSE).read_bytes()
    events = dbt_log_events(second / "dbt.log")
    assert "PartialParsingSkipParsing" in events and "UnableToPartialParse" not in events
    # the resource reports the version `dbt --version` would, without starting dbt to ask
    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    resource = DbtCli(project_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE)
    assert f"installed: {resource._cli_version}" in printed


def test_duckdb_limits_reach_crmseg_and_dbt(tmp_path, monkeypatch):
    from crmseg.errors import CrmsegError

    monkeypatch.setenv("CRMSEG_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("CRMSEG_DUCKDB_THREADS", "1")
    monkeypatch.setenv("CRMSEG_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    with duck.connect(tmp_path / "w.duckdb") as con:
        limits = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')"
        ).fetchone()
    assert limits == ("953.6 MiB", 1, str(tmp_path / "spill"))
    # what the dbt profile reads: dbt's DuckDB has a memory limit of its own, 2.5GB unless set
    assert duck.resource_environment() == {
        "CRMSEG_DBT_MEMORY_LIMIT": "2.5GB",
        "CRMSEG_DUCKDB_THREADS": "1",
        "CRMSEG_DUCKDB_TEMP_DIR": str(tmp_path / "spill"),
    }
    monkeypatch.setenv("CRMSEG_DBT_MEMORY_LIMIT", "1.5GiB")
    assert duck.resource_environment()["CRMSEG_DBT_MEMORY_LIMIT"] == "1.5GiB"
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["crmseg"]["outputs"]["warehouse"]
    options = " ".join(profile["config_options"].values())
    assert set(re.findall(r"env_var\('(CRMSEG_(?:DUCKDB|DBT)_\w+)'", options)) == set(duck.resource_environment())
    assert f"env_var('CRMSEG_DBT_MEMORY_LIMIT', '{duck.DEFAULT_DBT_MEMORY_LIMIT}')" in options  # the same default
    assert duck.memory_bytes("1.5GiB") == 3 * 2**29 and duck.memory_bytes("500 MB") == 500_000_000
    monkeypatch.setenv("CRMSEG_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(CrmsegError, match="CRMSEG_DUCKDB_MEMORY_LIMIT: not an amount of memory"):
        Settings.from_env()
    monkeypatch.setenv("CRMSEG_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("CRMSEG_DBT_MEMORY_LIMIT", "2 gigs")
    with pytest.raises(CrmsegError, match="CRMSEG_DBT_MEMORY_LIMIT: not an amount of memory"):
        Settings.from_env()


def test_a_backfill_is_built_in_chunks_of_dates(monkeypatch):
    from assets.dbt import chunk_days, date_chunks, merged
    from crmseg.errors import CrmsegError

    assert date_chunks("2026-06-01", "2026-06-05", 2) == [
        ("2026-06-01", "2026-06-02"),
        ("2026-06-03", "2026-06-04"),
        ("2026-06-05", "2026-06-05"),
    ]
    assert date_chunks("2026-06-01", "2026-06-30", 30) == [("2026-06-01", "2026-06-30")]
    assert date_chunks("2026-06-30", "2026-06-30", 30) == [("2026-06-30", "2026-06-30")]
    assert date_chunks("2026-06-29", "2026-06-30", 7_000_000) == [("2026-06-29", "2026-06-30")]  # no customers yet

    # the chunks' events as one build's: each model's last output, a test's failure if any chunk failed it
    def check(passed: bool) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key="marts/customer_segments", check_name="not_empty", passed=passed)

    first, last = dg.Output(1, "customer_segments"), dg.Output(2, "customer_segments")
    events = merged([first, check(False), dg.Output(1, "segment_summary"), last, check(True)])
    assert [getattr(e, "value", None) for e in events] == [2, None, 1]
    assert [e.passed for e in events if isinstance(e, dg.AssetCheckResult)] == [False]
    # unset, a build holds about 2.3M customer-dates per GB of dbt's memory limit, of the customers landed
    assert Settings.from_env().backfill_chunk_days is None
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA raw_crm; CREATE SCHEMA raw_erp")
        con.execute("CREATE TABLE raw_crm.accounts AS SELECT range AS id FROM range(900000)")
        con.execute("CREATE TABLE raw_erp.customers AS SELECT range AS id FROM range(100000)")
        assert (chunk_days(con, None), chunk_days(con, 30)) == (5, 30)  # with the default 2.5GB
        # once segments are built, by the customers of the latest date
        con.execute("CREATE SCHEMA intermediate")
        con.execute(
            "CREATE TABLE intermediate.int_customer_segments AS "
            "SELECT DATE '2026-06-30' + CAST(range // 2000000 AS INTEGER) AS as_of_date FROM range(3500000)"
        )
        assert chunk_days(con, None) == 3  # 1.5M customers on the latest date
        monkeypatch.setenv("CRMSEG_DBT_MEMORY_LIMIT", "1.5GB")
        assert chunk_days(con, None) == 2  # a smaller limit, fewer dates to a build
    monkeypatch.setenv("CRMSEG_BACKFILL_CHUNK_DAYS", "0")
    with pytest.raises(CrmsegError, match=r"^CRMSEG_BACKFILL_CHUNK_DAYS: not a positive number of days: '0'$"):
        Settings.from_env()
