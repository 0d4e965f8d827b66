"""Runs over time: the schedule's partition, backfills as one run, retries, alerts, one writer at a time, storage."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta
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
from orchestration.cli import execute
from orchestration.definitions import SCHEDULE_NAME, build_definitions
from tests.conftest import END_DATE, make_sources, settings_for, sqlite

WEEK = [(END_DATE - timedelta(days=6 - n)).isoformat() for n in range(7)]


def history(warehouse: Path) -> pd.DataFrame:
    with duck.connect(warehouse, read_only=True) as con:
        return con.execute("SELECT * FROM marts.customer_segments_history ORDER BY as_of_date, customer_key").df()


def published(serving_dir: Path) -> dict[str, pd.DataFrame]:
    """The latest-date tables as BI reads them from the serving file."""
    with duck.connect(serving_dir / "crmseg.duckdb", read_only=True) as con:
        return {
            table: con.execute(f"SELECT * FROM {table} ORDER BY customer_key").df()
            for table in ("customer_segments", "strategy_assignments")
        }


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


# -- backfills ----------------------------------------------------------------------------------------


def test_a_week_backfill_is_one_run_and_rerunning_a_day_changes_nothing_else(env, capsys):
    settings = Settings.from_env()
    outcome = execute(settings, start=END_DATE - timedelta(days=6), end=END_DATE)
    assert outcome.success, outcome.failure
    assert len(dg.DagsterInstance.get().get_runs()) == 1
    before = history(settings.warehouse_path)
    assert sorted(before["as_of_date"].astype(str).unique()) == WEEK
    # the UI's story: every table's row count, and the segments of the last date in Markdown
    assert outcome.materialized["marts/customer_segments_history"]["dagster/row_count"] == len(before)
    segments = outcome.materialized["marts/customer_segments"]
    assert segments["dagster/row_count"] == (before["as_of_date"] == before["as_of_date"].max()).sum()
    assert (
        f"**Segments as of {END_DATE}**" in segments["summary"]
        and "| strategy_group | high_value |" in segments["summary"]
    )

    served = published(settings.serving_dir)
    assert served["strategy_assignments"]["reason"].notna().all()

    middle = END_DATE - timedelta(days=3)
    assert execute(settings, as_of=middle).success
    after = history(settings.warehouse_path)
    assert len(dg.DagsterInstance.get().get_runs()) == 2
    pd.testing.assert_frame_equal(before, after)
    # regression: re-running an earlier date emptied strategy_assignments.reason of the latest date
    for table, rows in published(settings.serving_dir).items():
        pd.testing.assert_frame_equal(rows, served[table], obj=table)


# -- retries and alerts -------------------------------------------------------------------------------


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
    make_sources(tmp_path / "sources", customers=150, dirty_rate=0, crm_url=postgres_url)
    for name, value in settings_for(tmp_path / "sources", tmp_path).items():
        monkeypatch.setenv(name, value)
    return postgres_url


def alert_for_last_run(webhook_url: str | None) -> None:
    """Evaluate the failure sensor on the instance's latest run, as the daemon does."""
    settings = Settings.from_env()
    instance = dg.DagsterInstance.get()
    [run] = instance.get_runs(limit=1)
    failure = next(
        record.dagster_event
        for record in instance.all_logs(run.run_id)
        if record.dagster_event and record.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    sensor = build_definitions(settings).resolve_sensor_def(ALERT_SENSOR_NAME)
    context = dg.build_run_status_sensor_context(
        sensor_name=ALERT_SENSOR_NAME, dagster_instance=instance, dagster_run=run, dagster_event=failure
    ).for_run_failure()
    sensor(context)


def test_a_source_that_fails_twice_is_retried_and_the_run_succeeds(crm_on_postgres, monkeypatch):
    proxy = FlakyProxy(drop=2)
    try:
        monkeypatch.setenv("CRMSEG_CRM_URL", proxy.url(crm_on_postgres))
        outcome = execute(Settings.from_env(), as_of=END_DATE, extract_config={"retry_seconds": 0.2})
    finally:
        proxy.close()
    assert outcome.success, outcome.failure
    assert proxy.dropped == 2
    assert "marts/customer_segments" in outcome.materialized


def test_a_source_that_keeps_failing_fails_the_run_with_one_line_and_an_alert(crm_on_postgres, monkeypatch):
    webhook = Webhook()
    proxy = FlakyProxy(drop=None)
    try:
        monkeypatch.setenv("CRMSEG_CRM_URL", proxy.url(crm_on_postgres))
        monkeypatch.setenv("CRMSEG_ALERT_WEBHOOK_URL", webhook.url)
        outcome = execute(Settings.from_env(), as_of=END_DATE, extract_config={"retry_seconds": 0.1})
    finally:
        proxy.close()
    assert not outcome.success
    assert outcome.failure.startswith("crm.")
    assert f"cannot reach postgresql://postgres@127.0.0.1:{proxy.port}/" in outcome.failure
    assert outcome.failure.endswith("(gave up after 4 attempts)") and "\n" not in outcome.failure
    assert proxy.dropped >= 4  # each CRM table was tried four times

    alert_for_last_run(webhook.url)
    [alert] = webhook.posted
    assert alert["failure"] == outcome.failure and alert["partition"] == END_DATE.isoformat()
    assert alert["text"].startswith("crmseg: run ") and alert["job"] == "nightly_segmentation"
    webhook.server.shutdown()


# -- one writer at a time -----------------------------------------------------------------------------


def test_two_runs_started_at_once_take_turns_and_both_succeed(env):
    command = [str(Path(sys.executable).with_name("crmseg")), "run", "--as-of", END_DATE.isoformat()]
    runs = [
        subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err

    instance = dg.DagsterInstance.get()
    records = instance.get_runs()
    assert len(records) == 2 and all(r.is_success for r in records)
    waited = [r for r in records if any("waiting for it to finish" in e.message for e in instance.all_logs(r.run_id))]
    assert len(waited) == 1  # the second run waited for the first instead of failing on DuckDB's lock
    settings = Settings.from_env()
    with duck.connect(settings.warehouse_path, read_only=True) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT customer_key) FROM marts.customer_segments").fetchone()
        unbalanced = con.execute(
            "SELECT count(*) FROM quality.raw_reconciliation WHERE raw_rows <> staged_rows + rejected_rows"
        ).fetchone()[0]
    assert rows[0] == rows[1] > 0 and unbalanced == 0


# -- the instance on PostgreSQL -----------------------------------------------------------------------


def test_runs_are_recorded_in_dagster_storage_on_postgresql(env, postgres_url, monkeypatch):
    monkeypatch.setenv("CRMSEG_DAGSTER_POSTGRES_URL", postgres_url)
    outcome = execute(Settings.from_env(), as_of=END_DATE)
    assert outcome.success, outcome.failure

    config = (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").read_text()
    assert "env: CRMSEG_DAGSTER_STORAGE_URL" in config and "postgresql" not in config
    engine = sa.create_engine(postgres_url)
    with engine.connect() as con:
        stored = con.execute(sa.text("SELECT run_id, status FROM runs")).all()
        events = con.execute(sa.text("SELECT count(*) FROM event_logs WHERE run_id = :id"), {"id": outcome.run_id})
        event_count = events.scalar()
    engine.dispose()
    assert stored == [(outcome.run_id, "SUCCESS")]
    assert event_count > 0


# -- as-of correctness --------------------------------------------------------------------------------


def tickets_in_window(warehouse: Path) -> pd.DataFrame:
    """Tickets linked to a customer and created in the 300 days up to END_DATE, rated anything but 3 (so 6 - score
    is another score)."""
    with duck.connect(warehouse, read_only=True) as con:
        return con.execute(
            "SELECT ticket_id, customer_key, satisfaction_score FROM intermediate.int_tickets_linked "
            "WHERE customer_key IS NOT NULL AND satisfaction_score <> 3 AND valid_to IS NULL "
            f"AND created_date BETWEEN DATE '{END_DATE}' - 300 AND DATE '{END_DATE}' ORDER BY ticket_id"
        ).df()


def rerate(tickets: Path, ticket_id: str, score: int, updated_at: str) -> None:
    """The service desk changes one ticket's satisfaction score."""
    rows = [json.loads(line) for line in tickets.read_text().splitlines()]
    for row in rows:
        if row["ticket_id"] == ticket_id:
            row.update(satisfaction_score=score, updated_at=updated_at)
    tickets.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_what_happens_after_a_date_leaves_that_date_unchanged(env):
    settings = Settings.from_env()
    assert execute(settings, as_of=END_DATE).success
    before = history(settings.warehouse_path)
    account = before.dropna(subset=["crm_account_id", "erp_customer_code"]).iloc[0]
    erp_only = before[before["crm_account_id"].isna() & (before["orders_total"] > 0)].iloc[0]
    tickets = tickets_in_window(settings.warehouse_path)
    rated = tickets[tickets["customer_key"].isin(before["customer_key"])].iloc[0]
    later = END_DATE + timedelta(days=1)
    changed_at = f"{later} 09:00:00"
    # the next morning: a large order for one customer, a new industry for its account, an ERP customer
    # of its own given that account's CRM id, and a ticket rated anew
    rerate(
        env / "service" / "tickets.jsonl", rated.ticket_id, int(6 - rated.satisfaction_score), f"{later}T09:00:00+08:00"
    )
    sqlite(
        env / "erp.sqlite",
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) "
        f"VALUES ('SO-LATE-1', '{account.erp_customer_code}', '{later}', 'completed', 99999.00, '{changed_at}')",
        f"UPDATE customers SET crm_account_id = '{account.crm_account_id}', updated_at = '{changed_at}' "
        f"WHERE customer_code = '{erp_only.erp_customer_code}'",
    )
    sqlite(env / "crm.sqlite", f"UPDATE accounts SET industry = 'shipping', updated_at = '{changed_at}' "
           f"WHERE account_id = '{account.crm_account_id}'")  # fmt: skip

    assert execute(settings, as_of=END_DATE).success
    pd.testing.assert_frame_equal(history(settings.warehouse_path), before)

    assert execute(settings, as_of=later).success
    after = history(settings.warehouse_path)
    on_later = after[after["as_of_date"].astype(str) == later.isoformat()].set_index("customer_key")
    moved = on_later.loc[account.customer_key]
    assert [moved["industry"], moved["last_order_date"]] == ["shipping", pd.Timestamp(later)]
    # the ERP customer's orders now count for the account it joined, and it is no longer a customer of its own
    assert erp_only.customer_key not in on_later.index
    assert moved["orders_total"] == account.orders_total + erp_only.orders_total + 1
    was = before.set_index("customer_key").loc[rated.customer_key, "avg_satisfaction_365d"]
    assert on_later.loc[rated.customer_key, "avg_satisfaction_365d"] != was
    pd.testing.assert_frame_equal(
        after[after["as_of_date"] == before["as_of_date"].iloc[0]].reset_index(drop=True), before
    )
