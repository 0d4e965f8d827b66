"""The Dagster definitions and the `crmseg` CLI: wiring, runs in the instance, one-line failures."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from crmseg import contract, duck
from crmseg.settings import Settings
from orchestration.cli import main
from orchestration.definitions import JOB_NAME, SCHEDULE_NAME, build_definitions
from tests.conftest import END_DATE, fingerprint, sqlite

AS_OF = END_DATE.isoformat()

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


def test_run_lands_every_table_and_is_recorded_in_the_instance(env, capsys):
    assert main(["run", "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    assert f"run for {AS_OF} succeeded" in out
    settings = Settings.from_env()
    with duck.connect(settings.warehouse_path, read_only=True) as con:
        for table in contract.TABLES:
            assert con.execute(f"SELECT count(*) FROM raw_{table.source}.{table.name}").fetchone()[0] > 0
    runs = dg.DagsterInstance.get().get_runs(filters=dg.RunsFilter(job_name=JOB_NAME))
    assert len(runs) == 1
    assert runs[0].tags["crmseg/as_of_dates"] == f"{AS_OF}..{AS_OF}"


def test_usage_errors_are_one_line(env, capsys):
    assert main(["run", "--as-of", "2019-12-31"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: --as-of 2019-12-31 is outside the partitions 2026-01-01 .. "
        f"{Settings.from_env().yesterday()} (CRMSEG_START_DATE to yesterday in Asia/Shanghai)"
    )
    assert main(["run", "--vars", "[1]"]) == 1
    assert "--vars must be a JSON object" in capsys.readouterr().err


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
    ("breakage", "message", "failed_table"),
    [
        (unreachable, r"crm\.\w+: cannot reach postgresql://postgres@127\.0\.0\.1:1/crm: .*Connection refused", None),
        (
            missing_table,
            r"erp\.sales_order_lines: table not found in sqlite:///.*/erp\.sqlite",
            "raw_erp.sales_order_lines",
        ),
        (missing_required_column, r"erp\.sales_orders\.order_date: required column is missing", "raw_erp.sales_orders"),
        (unreadable_file, r"service\.tickets: cannot read: .*Malformed JSON", "raw_service.tickets"),
        (
            wrong_type,
            r"erp\.sales_orders\.total_amount: 1 value is not decimal \(first: 'abc'\)",
            "raw_erp.sales_orders",
        ),
    ],
    ids=["unreachable", "missing_table", "missing_required_column", "unreadable_file", "wrong_type"],
)
def test_bad_input_fails_with_one_line_and_loses_nothing(
    env, monkeypatch, capsys, landed, breakage, message, failed_table
):
    warehouse = landed
    before = fingerprint(warehouse)
    capsys.readouterr()

    breakage(env, monkeypatch)
    assert main(["run", "--as-of", AS_OF]) == 1

    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.match(f"error: {message}", err.strip()), err
    after = fingerprint(warehouse)
    # every landed row is still there; the table that failed was not touched at all
    for name, (rows, _) in before.items():
        if name.startswith("raw_"):
            assert after[name][0] == rows, name
    if failed_table:
        assert after[failed_table] == before[failed_table]
