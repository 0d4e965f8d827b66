"""Runs over time: the schedule's partition, re-runs and backfills, retries, alerts, one writer at a time, storage."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from crmseg import duck
from crmseg.settings import Settings
from orchestration.alerts import ALERT_SENSOR_NAME
from orchestration.cli import DAGSTER_STORAGE_VAR, dagster_instance, first_failure
from orchestration.definitions import SCHEDULE_NAME, build_definitions
from tests.conftest import (
    BACKFILL,
    BUILT_DATES,
    END_DATE,
    NEXT_DAY,
    make_sources,
    materialize,
    settings_for,
    wait_until,
)

# -- the schedule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "tick", "partition"),
    [
        # 02:00 in Shanghai is 18:00 UTC the day before: the partition is Shanghai's yesterday
        ("Asia/Shanghai", datetime(2026, 6, 2, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")), "2026-06-01"),
        ("Asia/Shanghai", datetime(2026, 3, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")), "2026-02-28"),
        ("UTC", datetime(2026, 6, 2, 2, 0, tzinfo=ZoneInfo("UTC")), "2026-06-01"),
        ("UTC", datetime(2026, 7, 1, 2, 0, tzinfo=ZoneInfo("UTC")), "2026-06-30"),
    ],
)
def test_the_schedule_runs_the_previous_day_in_the_configured_time_zone(env, monkeypatch, timezone, tick, partition):
    monkeypatch.setenv("CRMSEG_TIMEZONE", timezone)
    schedule = build_definitions(Settings.from_env()).resolve_schedule_def(SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", timezone)

    [request] = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    assert request.partition_key == partition


# -- re-runs and backfills -----------------------------------------------------------------------------


def on(frame: pd.DataFrame, *dates) -> pd.DataFrame:
    """The rows of these as-of dates."""
    return frame[frame["as_of_date"].astype(str).isin([str(d) for d in dates])].reset_index(drop=True)


def test_running_an_earlier_date_leaves_the_later_date_and_what_is_published(built_two_dates):
    """The two-date build runs END_DATE, then the date six weeks before it, on the same warehouse."""
    earlier, later = BUILT_DATES
    pd.testing.assert_frame_equal(on(built_two_dates.history[earlier], later), built_two_dates.history[later])
    # regression: re-running an earlier date emptied strategy_assignments.reason of the latest date
    for table, rows in built_two_dates.published[earlier].items():
        pd.testing.assert_frame_equal(rows, built_two_dates.published[later][table], obj=table)
    assert built_two_dates.published[earlier]["strategy_assignments"]["reason"].notna().all()
    with duck.connect(built_two_dates.warehouse, read_only=True) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT customer_key) FROM marts.customer_segments").fetchone()
        unbalanced = con.execute(
            "SELECT count(*) FROM quality.raw_reconciliation WHERE raw_rows <> staged_rows + rejected_rows"
        ).fetchone()[0]
    assert rows[0] == rows[1] > 0 and unbalanced == 0


def test_a_backfill_is_one_run_and_changes_no_other_date(runs_over_time):
    """END_DATE is run again inside the backfill, after the next morning's changes: customer_key is stable from run
    to run, a re-run gives the same rows, and what happened after a date does not change it."""
    backfill, after = runs_over_time.backfill, runs_over_time.history_after
    assert backfill.success, backfill.failure
    assert runs_over_time.runs == [
        {"run_id": backfill.run_id, "as_of_dates": f"{BACKFILL[0]}..{BACKFILL[1]}", "success": True}
    ]
    # dbt built it in chunks of two dates (CRMSEG_BACKFILL_CHUNK_DAYS), in date order
    assert runs_over_time.chunks == [
        f"chunk 1 of 2: dbt builds {BACKFILL[0]} .. {END_DATE}",
        f"chunk 2 of 2: dbt builds {NEXT_DAY} .. {NEXT_DAY}",
    ]
    # the second chunk built only what depends on the dates: the staging and the identity came out of the first, and
    # the progress counted each model built
    second = runs_over_time.data_dir / "dbt" / "target" / f"{backfill.run_id[:8]}-2" / "run_results.json"
    rebuilt = {r["unique_id"] for r in json.loads(second.read_text())["results"]}
    assert {"model.crmseg.int_as_of_dates", "model.crmseg.int_customer_segments"} <= rebuilt
    assert not {"model.crmseg.base_erp__sales_orders", "model.crmseg.int_link_periods"} & rebuilt
    progress = runs_over_time.progress
    assert progress[-1].startswith(f"dbt {len(progress)} of {len(progress)}: ")
    # Dagster planned each asset once for the three dates (not once a date), and holds each date as materialized
    assert "marts/customer_segments" in runs_over_time.planned
    assert len(runs_over_time.planned) == len(set(runs_over_time.planned))
    assert runs_over_time.dates_materialized == {d.isoformat() for d in (BACKFILL[0], END_DATE, NEXT_DAY)}
    assert sorted(after["as_of_date"].astype(str).unique()) == [
        d.isoformat() for d in (BUILT_DATES[0], BACKFILL[0], END_DATE, NEXT_DAY)
    ]
    pd.testing.assert_frame_equal(on(after, *BUILT_DATES), runs_over_time.history_before)
    # the UI's story: every table's row count, and the segments of the last date in Markdown
    assert backfill.materialized["marts/customer_segments_history"]["dagster/row_count"] == len(after)
    with duck.connect(runs_over_time.warehouse, read_only=True) as con:  # a staged view's, as reconciled
        for view in ("stg_erp__sales_orders", "stg_crm__accounts"):
            rows = con.execute(f"SELECT count(*) FROM staging.{view}").fetchone()[0]
            assert backfill.materialized[f"staging/{view}"]["dagster/row_count"] == rows > 0, view
    segments = backfill.materialized["marts/customer_segments"]
    assert segments["dagster/row_count"] == len(on(after, NEXT_DAY))
    assert (
        f"**Segments as of {NEXT_DAY}**" in segments["summary"]
        and "| strategy_group | high_value |" in segments["summary"]
    )
    assert runs_over_time.published_after["strategy_assignments"]["reason"].notna().all()


def test_what_happens_after_a_date_shows_from_the_next_day_on(runs_over_time):
    before, after = runs_over_time.history_before, runs_over_time.history_after
    account, erp_only, rated = runs_over_time.account, runs_over_time.erp_only, runs_over_time.rated
    on_next_day = on(after, NEXT_DAY).set_index("customer_key")
    moved = on_next_day.loc[account.customer_key]
    assert [moved["industry"], moved["last_order_date"]] == ["shipping", pd.Timestamp(NEXT_DAY)]
    # the ERP customer's orders now count for the account it joined, and it is no longer a customer of its own
    assert erp_only.customer_key not in on_next_day.index
    assert moved["orders_total"] == account.orders_total + erp_only.orders_total + 1
    was = on(before, END_DATE).set_index("customer_key").loc[rated.customer_key, "avg_satisfaction_365d"]
    assert on_next_day.loc[rated.customer_key, "avg_satisfaction_365d"] != was
    pd.testing.assert_frame_equal(on(after, END_DATE), on(before, END_DATE))


# -- retries and alerts: the CRM extract asset alone, behind a proxy -----------------------------------


class FlakyProxy:
    """A TCP proxy to PostgreSQL that hangs up on the first `drop` connections (on every one when None)."""

    def __init__(self, drop: int | None, target: tuple[str, int] = ("127.0.0.1", 5432)):
        self.drop, self.target, self.dropped = drop, target, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.drop is None or self.dropped < self.drop:
                self.dropped += 1
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def url(self, database_url: str) -> str:
        return sa.make_url(database_url).set(port=self.port).render_as_string(hide_password=False)

    def close(self) -> None:
        self.server.close()


class Webhook:
    """A local HTTP endpoint that keeps what is posted to it."""

    def __init__(self):
        posted = self.posted = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def crm_on_postgres(tmp_path, postgres_url, monkeypatch):
    """The demo CRM in a real PostgreSQL database, the other sources as files; settings in the environment."""
    manifest = make_sources(tmp_path / "sources", customers=150, dirty_rate=0, crm_url=postgres_url)
    for name, value in settings_for(tmp_path / "sources", tmp_path).items():
        monkeypatch.setenv(name, value)
    return postgres_url, manifest


def alert_for_last_run(instance: dg.DagsterInstance) -> None:
    """Evaluate the failure sensor on the instance's latest run, as the daemon does."""
    [run] = instance.get_runs(limit=1)
    failure = next(
        record.dagster_event
        for record in instance.all_logs(run.run_id)
        if record.dagster_event and record.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    sensor = build_definitions(Settings.from_env()).resolve_sensor_def(ALERT_SENSOR_NAME)
    context = dg.build_run_status_sensor_context(
        sensor_name=ALERT_SENSOR_NAME, dagster_instance=instance, dagster_run=run, dagster_event=failure
    ).for_run_failure()
    sensor(context)


def test_a_source_that_fails_twice_is_retried_and_the_run_succeeds(crm_on_postgres, monkeypatch):
    url, manifest = crm_on_postgres
    proxy = FlakyProxy(drop=2)
    try:
        monkeypatch.setenv("CRMSEG_CRM_URL", proxy.url(url))
        result = materialize("raw_crm/accounts", extract_config={"retry_seconds": 0.2})
    finally:
        proxy.close()
    assert result.success, first_failure(result)
    assert proxy.dropped == 2
    [landed] = result.get_asset_materialization_events()
    assert landed.materialization.metadata["dagster/row_count"].value == manifest["rows"]["crm.accounts"]


def test_a_source_that_keeps_failing_fails_the_run_with_one_line_and_an_alert(crm_on_postgres, monkeypatch):
    url, _ = crm_on_postgres
    webhook = Webhook()
    proxy = FlakyProxy(drop=None)
    instance = dg.DagsterInstance.ephemeral()
    try:
        monkeypatch.setenv("CRMSEG_CRM_URL", proxy.url(url))
        monkeypatch.setenv("CRMSEG_ALERT_WEBHOOK_URL", webhook.url)
        result = materialize("raw_crm/accounts", extract_config={"retry_seconds": 0.1}, instance=instance)
    finally:
        proxy.close()
    assert not result.success
    failure = first_failure(result)
    assert failure.startswith("crm.")
    assert f"cannot reach postgresql://postgres@127.0.0.1:{proxy.port}/" in failure
    assert failure.endswith("(gave up after 4 attempts)") and "\n" not in failure
    assert proxy.dropped == 4  # the table was tried four times

    alert_for_last_run(instance)
    [alert] = webhook.posted
    assert alert["failure"] == failure and alert["partition"] == END_DATE.isoformat()
    assert alert["text"].startswith("crmseg: run ") and alert["job"] == "nightly_segmentation"
    webhook.server.shutdown()


# -- one writer at a time: two processes and a small write ---------------------------------------------

WRITER = str(Path(__file__).with_name("warehouse_writer.py"))


def lines_of(stream) -> queue.Queue:
    """The stream's lines as they come, read by a thread, so that the test can wait for one without hanging."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue, text: str) -> None:
    while (line := lines.get(timeout=300)) is not None:
        if text in line:
            return
    pytest.fail(f"the process ended without writing {text!r}")


def waiting_for(lock: Path) -> set[int]:
    """The processes the kernel shows blocked on this file's lock (Linux /proc/locks: `N: -> FLOCK ... PID dev:ino`)."""
    inode = f":{lock.stat().st_ino} "
    return {
        int(line.split()[5])
        for line in Path("/proc/locks").read_text().splitlines()
        if " -> FLOCK " in line and inode in line
    }


def test_a_second_writer_waits_for_the_first_to_release_the_lock(tmp_path):
    warehouse, release = tmp_path / "warehouse.duckdb", tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, WRITER, "hold", str(warehouse), str(release)], stdout=subprocess.PIPE, text=True
    )
    lock = duck.WriterLock(warehouse)
    told = threading.Event()
    waiter = threading.Thread(target=lock.acquire, kwargs={"on_wait": lambda path: told.set()})
    try:
        wait_for_line(lines_of(holder.stdout), "holding")
        waiter.start()
        wait_until(lambda: os.getpid() in waiting_for(lock.path), "the second writer blocked on the lock", 120)
        assert told.is_set()  # and told it is waiting
    finally:
        release.touch()
        holder.wait(timeout=60)
    waiter.join(timeout=60)
    try:
        with duck.connect(warehouse) as con:  # DuckDB's own lock is free as well
            turns = con.execute("SELECT writer, step FROM turns ORDER BY rowid").fetchall()
    finally:
        lock.release()
    assert turns == [("hold", "in"), ("hold", "out")]


def test_two_runs_started_at_once_take_turns_and_both_succeed(tmp_path):
    warehouse, release = tmp_path / "warehouse.duckdb", tmp_path / "release"

    def start(name: str) -> subprocess.Popen:
        (tmp_path / name).mkdir()
        return subprocess.Popen(
            [sys.executable, WRITER, "run", str(warehouse), str(release), name],
            env={**os.environ, "DAGSTER_HOME": str(tmp_path / name)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = start("first")
    second = None
    try:
        wait_for_line(lines_of(first.stdout), "holding")  # the first run is writing the warehouse
        second = start("second")
        wait_for_line(lines_of(second.stderr), "waiting for it to finish")  # Dagster's log of the second run
        lock = duck.WriterLock(warehouse).path
        wait_until(lambda: second.pid in waiting_for(lock), "the second run blocked on the lock", 120)
        release.touch()
        for run in (first, second):
            assert run.wait(timeout=300) == 0
    finally:
        release.touch()
        for run in (first, second):
            if run is not None and run.poll() is None:
                run.kill()

    with duck.connect(warehouse, read_only=True) as con:
        turns = con.execute("SELECT writer, step FROM turns ORDER BY rowid").fetchall()
    assert turns == [("first", "in"), ("first", "out"), ("second", "in"), ("second", "out")]
    for name, waited in (("first", False), ("second", True)):
        instance = dg.DagsterInstance.from_config(str(tmp_path / name))
        [record] = instance.get_runs()
        assert record.is_success
        logged = any("waiting for it to finish" in e.message for e in instance.all_logs(record.run_id))
        assert logged == waited, name
        instance.dispose()


# -- the instance on PostgreSQL -----------------------------------------------------------------------


def test_runs_are_recorded_in_dagster_storage_on_postgresql(env, postgres_url, monkeypatch):
    monkeypatch.setenv("CRMSEG_DAGSTER_POSTGRES_URL", postgres_url)
    monkeypatch.setenv(DAGSTER_STORAGE_VAR, "")  # the instance sets it; gone again after the test
    instance = dagster_instance(Settings.from_env())
    try:
        result = materialize("raw_crm/campaigns", instance=instance)
    finally:
        instance.dispose()
    assert result.success, first_failure(result)

    config = (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").read_text()
    assert f"env: {DAGSTER_STORAGE_VAR}" in config and "postgresql" not in config
    engine = sa.create_engine(postgres_url)
    with engine.connect() as con:
        stored = con.execute(sa.text("SELECT run_id, status FROM runs")).all()
        events = con.execute(sa.text("SELECT count(*) FROM event_logs WHERE run_id = :id"), {"id": result.run_id})
        event_count = events.scalar()
    engine.dispose()
    assert stored == [(result.run_id, "SUCCESS")]
    assert event_count > 0


# -- the instance on SQLite: Dagster's event log through connections kept open ---------------------------


def test_the_event_log_keeps_its_connections_and_a_watcher_and_dagster_read_what_it_wrote(env):
    """What the CLI writes, the UI reads: live, through Dagster's watcher of the run's database file (a connection
    kept open writes to the write-ahead log, and the file would change only at a checkpoint), and later, with
    Dagster's own SQLite event log."""
    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.event_log import SqliteEventLogStorage

    from orchestration.event_log import KEPT_ENGINES, KeptOpenSqliteEventLogStorage

    seen: queue.Queue = queue.Queue()
    with dagster_instance(Settings.from_env()) as writer, dg.DagsterInstance.get() as reader:
        assert isinstance(writer.event_log_storage, KeptOpenSqliteEventLogStorage)
        reader.watch_event_logs("run-1", None, lambda entry, cursor: seen.put(entry.user_message))
        connected = []

        def count(*_) -> None:  # any engine's connection made in this thread (the watcher reads in its own)
            connected.extend([1] if threading.current_thread() is threading.main_thread() else [])

        for n in range(10):
            writer.event_log_storage.store_event(EventLogEntry(None, "INFO", f"event {n}", "run-1", float(n)))
            assert seen.get(timeout=10) == f"event {n}"  # seen as it is written, before the next
            if n == 0:  # the run's database is created: from now on, no new connection
                sa.event.listen(sa.pool.Pool, "connect", count)
        sa.event.remove(sa.pool.Pool, "connect", count)
        assert connected == []  # the writer's connection is kept (Dagster's own connects for each event)
        for n in range(KEPT_ENGINES + 3):  # the engines of runs read long ago are let go
            writer.event_log_storage.get_logs_for_run(f"other-{n}")
        assert len(writer.event_log_storage._engines) == KEPT_ENGINES
        base_dir = writer.event_log_storage._base_dir
    assert not list(Path(base_dir).glob("*-wal"))  # disposed of: each database closed and checkpointed
    dagsters_own = SqliteEventLogStorage(base_dir)
    assert [entry.user_message for entry in dagsters_own.get_logs_for_run("run-1")][-1] == "event 9"
    dagsters_own.dispose()
