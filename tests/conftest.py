"""Shared fixtures: generated sources, the shared builds, fresh databases on the real servers, assets run alone.

A run of the whole pipeline costs half a minute, so there are few of them and
they are shared: `built_two_dates` builds the demo sources for two as-of
dates once, for every test that reads a built warehouse, its quality results,
its serving files or its report; `runs_over_time` takes a copy of it through
the next morning's source changes and a backfill. Everything else runs the
assets under test alone (`materialize`) or calls the functions.

Tests run in two processes (pytest-xdist): the tests of one shared build go to
the same process, which builds it once (`pytest_collection_modifyitems`).

PostgreSQL and MariaDB tests use the servers on localhost. Outside CI a test
whose server is down skips with the reason; in CI (CI=true) it fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from crmseg import contract, duck
from crmseg.generate import GenerateOptions, generate
from crmseg.landing import LandingResult, land_table
from crmseg.report import report_path
from crmseg.settings import SOURCE_URL_VARS, Settings
from crmseg.sources import SourceLocation

POSTGRES_ADMIN_URL = os.environ.get("CRMSEG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("CRMSEG_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
END_DATE = date(2026, 6, 30)
# the as-of dates of built_two_dates
BUILT_DATES = (END_DATE - timedelta(days=45), END_DATE)
NEXT_DAY = END_DATE + timedelta(days=1)


# the costly session builds: the tests that use one are run by one worker process (pytest-xdist's loadgroup)
SHARED_BUILDS = ("built_two_dates", "effect_build")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = [name for name in SHARED_BUILDS if name in getattr(item, "fixturenames", ())]
        if used:
            item.add_marker(pytest.mark.xdist_group(used[0]))


def _server_or_skip(url: str, what: str) -> sa.Engine:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not reachable in CI: {exc}")
        pytest.skip(f"{what} is not reachable: {str(exc).splitlines()[0]}")
    return engine


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    engine = _server_or_skip(POSTGRES_ADMIN_URL, "PostgreSQL on 127.0.0.1:5432")
    name = f"crmseg_test_{uuid.uuid4().hex[:10]}"
    with engine.connect() as con:
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    yield sa.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql", database=name).render_as_string(False)
    with engine.connect() as con:
        con.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    engine.dispose()


@pytest.fixture
def mariadb_url():
    """A fresh, empty MariaDB database, dropped afterwards."""
    engine = _server_or_skip(MARIADB_ADMIN_URL, "MariaDB on 127.0.0.1:3306")
    name = f"crmseg_test_{uuid.uuid4().hex[:10]}"
    with engine.connect() as con:
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    yield sa.make_url(MARIADB_ADMIN_URL).set(drivername="mysql", database=name).render_as_string(False)
    with engine.connect() as con:
        con.execute(sa.text(f"DROP DATABASE {name}"))
    engine.dispose()


def control_by_hand(customer_key: str, share: float = 0.10, salt: str = "crmseg") -> bool:
    """SPEC section 9: the first 8 hex digits of md5(customer_key:salt) as an integer, mod 10000, below share."""
    digits = hashlib.md5(f"{customer_key}:{salt}".encode()).hexdigest()[:8]
    return int(digits, 16) % 10000 < share * 10000


# -- sources and settings ------------------------------------------------------------------------------


def make_sources(
    out: Path, customers: int = 300, seed: int = 7, dirty_rate: float = 0.01, end_date: date = END_DATE, **urls
) -> dict:
    return generate(
        GenerateOptions(out=out, customers=customers, seed=seed, end_date=end_date, dirty_rate=dirty_rate, **urls)
    )


@pytest.fixture(scope="session")
def demo_sources(tmp_path_factory) -> Path:
    """Embedded demo sources (SQLite + JSON Lines), generated once; tests copy before changing them."""
    out = tmp_path_factory.mktemp("sources")
    make_sources(out)
    return out


def settings_for(sources: Path, root: Path) -> dict[str, str]:
    """The CRMSEG_* settings (and DAGSTER_HOME) of a run on these sources, with its data under root."""
    return {
        "CRMSEG_DATA_DIR": str(root / "data"),
        "CRMSEG_CRM_URL": f"sqlite:///{sources / 'crm.sqlite'}",
        "CRMSEG_ERP_URL": f"sqlite:///{sources / 'erp.sqlite'}",
        "CRMSEG_SERVICE_URL": str(sources / "service"),
        "CRMSEG_START_DATE": "2026-01-01",
        "DAGSTER_HOME": str(root / "dagster"),
    }


@contextlib.contextmanager
def environment(settings: dict[str, str]) -> Iterator[None]:
    """These settings in the environment for the block, for fixtures wider than one test."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        yield


def run_cli(settings: dict[str, str], *args: str) -> int:
    """`crmseg ARGS` with these settings, for fixtures wider than one test."""
    from orchestration.cli import main

    with environment(settings):
        return main(list(args))


@pytest.fixture
def env(tmp_path, monkeypatch, demo_sources):
    """Settings pointing at a fresh data dir and a private copy of the demo sources."""
    sources = tmp_path / "sources"
    shutil.copytree(demo_sources, sources)
    for name, value in settings_for(sources, tmp_path).items():
        monkeypatch.setenv(name, value)
    return sources


def sqlite(path: Path, *statements: str) -> None:
    """Change a SQLite source the way its own system would."""
    with sqlite3.connect(path) as con:
        for statement in statements:
            con.execute(statement)


def renamed_required_column(sources: Path) -> None:
    """A poisoned ERP extract: the orders' customer_code column renamed."""
    sqlite(sources / "erp.sqlite", "ALTER TABLE sales_orders RENAME COLUMN customer_code TO customer_no")


def rerate(tickets: Path, ticket_id: str, score: int, updated_at: str) -> None:
    """The service desk changes one ticket's satisfaction score."""
    rows = [json.loads(line) for line in tickets.read_text().splitlines()]
    for row in rows:
        if row["ticket_id"] == ticket_id:
            row.update(satisfaction_score=score, updated_at=updated_at)
    tickets.write_text("".join(json.dumps(row) + "\n" for row in rows))


# -- what a warehouse and the serving folder hold ---------------------------------------------------------


def fingerprint(warehouse: Path) -> dict[str, tuple]:
    """Row count and an order-free content hash of every table in the warehouse."""
    if not warehouse.exists():
        return {}
    with duck.connect(warehouse, read_only=True) as con:
        names = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
        ).fetchall()
        return {n: con.execute(f"SELECT count(*), sum(hash(t)) FROM {n} AS t").fetchone() for (n,) in names}


def raw_counts(warehouse: Path) -> dict[str, int]:
    with duck.connect(warehouse, read_only=True) as con:
        return {
            t.qualified: con.execute(f"SELECT count(*) FROM raw_{t.source}.{t.name}").fetchone()[0]
            for t in contract.TABLES
        }


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


def serving_state(data_dir: Path) -> tuple:
    """What BI finds: the serving file's bytes, the Parquet folder the link names and its files' bytes."""
    parquet = data_dir / "serving" / "parquet"
    files = sorted(parquet.rglob("*.parquet"))
    return (
        hashlib.sha256((data_dir / "serving" / "crmseg.duckdb").read_bytes()).hexdigest(),
        parquet.resolve().name,
        [hashlib.sha256(f.read_bytes()).hexdigest() for f in files],
    )


def pg_state(url: str) -> tuple:
    """What BI finds in PostgreSQL: the publishing run and date, the segment tables' sizes and latest date."""
    with psycopg.connect(url, autocommit=True) as pg:
        return pg.execute(
            """SELECT (SELECT run_id FROM crmseg._published), (SELECT as_of_date::text FROM crmseg._published),
                      (SELECT count(*) FROM crmseg.customer_segments),
                      (SELECT count(*) FROM crmseg.strategy_assignments),
                      (SELECT max(as_of_date)::text FROM crmseg.customer_segments),
                      (SELECT count(*) FROM crmseg.data_quality_results)"""
        ).fetchone()


def reader_url(url: str) -> str:
    """The same database as the read-only role publishing creates."""
    return sa.make_url(url).set(username="crmseg_reader").render_as_string(hide_password=False)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    """Poll until the condition holds; the timeout only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


# -- assets on their own ------------------------------------------------------------------------------


def materialize(
    *keys: str,
    extract_config: dict | None = None,
    dbt_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    dates: tuple[date, date] = (END_DATE, END_DATE),
) -> dg.ExecuteInProcessResult:
    """These assets alone ('raw_erp/sales_orders'; 'dbt' for every dbt model; 'intermediate/int_clv_fits+' for a dbt
    model and the dbt models after it), with the resources the definitions give them from the settings in the
    environment.

    A run of the nightly job restricted to them rather than `dagster.materialize`, so that the run has the job's
    name and END_DATE's partition (or the range `dates`, as a backfill), as the failure alert and the recorded
    checks of a real run do.
    """
    from orchestration.definitions import DBT_OP, JOB_NAME, build_definitions

    defs = build_definitions(Settings.from_env())
    selected: list[dg.AssetKey] = []
    dbt_keys = next(a for a in defs.assets if getattr(a, "op", None) and a.op.name == DBT_OP).keys
    for key in keys:
        if key == "dbt":
            selected += dbt_keys
        elif key.endswith("+"):
            after = dg.AssetSelection.assets(dg.AssetKey.from_user_string(key[:-1])).downstream()
            selected += sorted(after.resolve(defs.resolve_asset_graph()) & dbt_keys)
        else:
            selected.append(dg.AssetKey.from_user_string(key))
    ops = {defs.resolve_assets_def(key).op.name for key in selected} - {DBT_OP}
    run_config = {"ops": {op: {"config": extract_config} for op in ops}} if extract_config else {"ops": {}}
    if dbt_config:
        run_config["ops"][DBT_OP] = {"config": dbt_config}
    first, last = (day.isoformat() for day in dates)
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return defs.resolve_job_def(JOB_NAME).execute_in_process(
        run_config=run_config,
        asset_selection=selected,
        partition_key=first if first == last else None,
        tags={} if first == last else tags,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def source_urls(sources: Path) -> dict[str, str]:
    """Each source's URL for generated sources."""
    settings = settings_for(sources, sources)
    return {source: settings[variable] for source, variable in SOURCE_URL_VARS.items()}


def land_sources(
    warehouse: Path, urls: dict[str, str | Path], load_id: str = "landing", tables: list[str] | None = None, **options
) -> dict[str, LandingResult]:
    """Every source table (or these, by qualified name) landed in the warehouse by the landing itself (behind the
    quality gate if given `validate`), by qualified name."""
    return {
        table.qualified: land_table(
            warehouse,
            SourceLocation.parse(table.source, str(urls[table.source])),
            table,
            load_id=load_id,
            timezone="Asia/Shanghai",
            **options,
        )
        for table in contract.TABLES
        if tables is None or table.qualified in tables
    }


@pytest.fixture(scope="session")
def landing(tmp_path_factory, demo_sources) -> Path:
    """A warehouse holding one full landing of every demo source table and no models, landed once."""
    warehouse = tmp_path_factory.mktemp("landing") / "warehouse.duckdb"
    land_sources(warehouse, source_urls(demo_sources))
    return warehouse


@pytest.fixture
def landed(env, landing) -> Path:
    """This test's warehouse: a copy of the landing, where the settings in the environment look for it."""
    warehouse = Settings.from_env().warehouse_path
    warehouse.parent.mkdir(parents=True)
    shutil.copy(landing, warehouse)
    return warehouse


# -- the demo sources built for two dates ---------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """A data dir the whole pipeline built through `crmseg run`, one run per as-of date."""

    settings: dict[str, str]
    run_ids: dict[date, str]
    printed: dict[date, str]  # what `crmseg run` printed
    history: dict[date, pd.DataFrame]  # customer_segments_history after the run of each date
    published: dict[date, dict[str, pd.DataFrame]]  # the latest-date serving tables after the run of each date

    @property
    def data_dir(self) -> Path:
        return Path(self.settings["CRMSEG_DATA_DIR"])

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    def report(self, as_of: date) -> Path:
        return report_path(self.data_dir / "reports", self.run_ids[as_of])


@pytest.fixture(scope="session")
def built_two_dates(tmp_path_factory, demo_sources) -> Build:
    """`crmseg run` on the demo sources for each of BUILT_DATES, once for the session.

    The later date is run first, so that the second run is of an earlier date, as an analyst's re-run is.
    Tests read it and never change it; those that change things work on a copy.
    """
    root = tmp_path_factory.mktemp("built_two_dates")
    settings = settings_for(demo_sources, root)
    data_dir = Path(settings["CRMSEG_DATA_DIR"])
    run_ids, printed, histories, published_tables = {}, {}, {}, {}
    for as_of in sorted(BUILT_DATES, reverse=True):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = run_cli(settings, "run", "--as-of", as_of.isoformat())
        printed[as_of] = out.getvalue()
        assert code == 0, printed[as_of]
        run_ids[as_of] = re.search(r"\(run ([0-9a-f-]{36})\)", printed[as_of]).group(1)
        histories[as_of] = history(data_dir / "warehouse.duckdb")
        published_tables[as_of] = published(data_dir / "serving")
    return Build(settings, run_ids, printed, histories, published_tables)


@pytest.fixture
def built_copy(env, built_two_dates) -> Path:
    """This test's data dir: a copy of the two-date build, where the settings in the environment look for it."""
    data_dir = Settings.from_env().data_dir
    shutil.copytree(built_two_dates.data_dir, data_dir, symlinks=True)  # serving/parquet is a link
    return data_dir


# -- the same warehouse over time -------------------------------------------------------------------------


@dataclass(frozen=True)
class RunsOverTime:
    """A copy of the two-date build before and after the backfill of `runs_over_time`."""

    data_dir: Path
    history_before: pd.DataFrame
    account: pd.Series  # a customer with a CRM account and ERP orders, on END_DATE
    erp_only: pd.Series  # an ERP customer of its own with orders, on END_DATE
    rated: pd.Series  # a ticket of a customer, rated in the year up to END_DATE
    backfill: object  # orchestration.cli.RunOutcome
    history_after: pd.DataFrame
    published_after: dict[str, pd.DataFrame]
    runs: list[dict]  # the instance's runs: run_id, as_of_dates, success
    chunks: list[str]  # what the backfill logged of its chunks of dates
    progress: list[str]  # what it logged of each dbt model built ("dbt k of n: ...")
    planned: list[str]  # the assets the backfill's run planned to materialize, once per event
    dates_materialized: set[str]  # the dates the instance holds a materialization of customer_segments for
    reader_rounds: list[dict]  # what tests/serving_reader.py saw during the backfill

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"


# from the day before END_DATE (new), through END_DATE (run again) to NEXT_DAY (new, after the sources changed)
BACKFILL = (END_DATE - timedelta(days=1), NEXT_DAY)


def tickets_in_window(warehouse: Path) -> pd.DataFrame:
    """Tickets linked to a customer and created in the 300 days up to END_DATE, rated anything but 3 (so 6 - score
    is another score)."""
    with duck.connect(warehouse, read_only=True) as con:
        return con.execute(
            "SELECT ticket_id, customer_key, satisfaction_score FROM intermediate.int_tickets_linked "
            "WHERE customer_key IS NOT NULL AND satisfaction_score <> 3 AND valid_to IS NULL "
            f"AND created_date BETWEEN DATE '{END_DATE}' - 300 AND DATE '{END_DATE}' ORDER BY ticket_id"
        ).df()


def reader_rounds(seen: Path) -> list[dict]:
    """The rounds the readers have written so far (a line still being written is left for later)."""
    if not seen.exists():
        return []
    return [json.loads(line) for line in seen.read_text().splitlines(keepends=True) if line.endswith("\n")]


@pytest.fixture(scope="session")
def runs_over_time(tmp_path_factory, demo_sources, built_two_dates) -> RunsOverTime:
    """A copy of the two-date build, taken on through time:

    1. the next morning (NEXT_DAY) the sources change: a large order for a customer, a new industry for its
       account, an ERP customer of its own given that account's CRM id, and a ticket rated anew;
    2. BACKFILL is run as one backfill (`execute`, as `crmseg backfill` does) while two BI readers
       (tests/serving_reader.py) query the serving file.
    """
    from orchestration.cli import execute

    root = tmp_path_factory.mktemp("runs_over_time")
    sources = root / "sources"
    shutil.copytree(demo_sources, sources)
    # dbt builds the backfill's three dates in two chunks, as it builds a long one
    settings = {**settings_for(sources, root), "CRMSEG_BACKFILL_CHUNK_DAYS": "2"}
    data_dir = Path(settings["CRMSEG_DATA_DIR"])
    shutil.copytree(built_two_dates.data_dir, data_dir, symlinks=True)  # serving/parquet is a link
    warehouse = data_dir / "warehouse.duckdb"

    before = history(warehouse)
    on_end_date = before[before["as_of_date"].astype(str) == END_DATE.isoformat()]
    account = on_end_date.dropna(subset=["crm_account_id", "erp_customer_code"]).iloc[0]
    erp_only = on_end_date[on_end_date["crm_account_id"].isna() & (on_end_date["orders_total"] > 0)].iloc[0]
    tickets = tickets_in_window(warehouse)
    rated = tickets[tickets["customer_key"].isin(on_end_date["customer_key"])].iloc[0]

    # late on NEXT_DAY: past every moment of END_DATE's sources (the landing's high-water mark), on the same day
    changed_at = f"{NEXT_DAY} 23:30:00"
    rerate(
        sources / "service" / "tickets.jsonl",
        rated.ticket_id,
        int(6 - rated.satisfaction_score),
        f"{NEXT_DAY}T23:30:00+08:00",
    )
    sqlite(
        sources / "erp.sqlite",
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) "
        f"VALUES ('SO-LATE-1', '{account.erp_customer_code}', '{NEXT_DAY}', 'completed', 99999.00, '{changed_at}')",
        f"UPDATE customers SET crm_account_id = '{account.crm_account_id}', updated_at = '{changed_at}' "
        f"WHERE customer_code = '{erp_only.erp_customer_code}'",
    )
    sqlite(
        sources / "crm.sqlite",
        f"UPDATE accounts SET industry = 'shipping', updated_at = '{changed_at}' "
        f"WHERE account_id = '{account.crm_account_id}'",
    )

    stop, seen = root / "stop", root / "seen.jsonl"
    script = str(Path(__file__).with_name("serving_reader.py"))
    serving_file = str(data_dir / "serving" / "crmseg.duckdb")
    readers = [
        subprocess.Popen([sys.executable, script, how, serving_file, str(stop), str(seen)]) for how in ("held", "new")
    ]
    with environment(settings):
        try:
            wait_until(lambda: {r["how"] for r in reader_rounds(seen)} == {"held", "new"}, "both readers reading")
            backfill = execute(Settings.from_env(), start=BACKFILL[0], end=BACKFILL[1])
            # a new connection has seen what the backfill published (or the run failed and never will)
            wait_until(
                lambda: (
                    not backfill.success or any(r.get("published_as_of") == str(NEXT_DAY) for r in reader_rounds(seen))
                ),
                "a reader seeing the backfill's state",
            )
        finally:
            stop.touch()
            for reader in readers:
                reader.wait(timeout=60)
        runs = [
            {"run_id": r.run_id, "as_of_dates": r.tags.get("crmseg/as_of_dates"), "success": r.is_success}
            for r in dg.DagsterInstance.get().get_runs()
        ]
        logged = dg.DagsterInstance.get().all_logs(backfill.run_id)
        chunks = [event.message for event in logged if event.message.startswith("chunk ")]
        progress = [event.message for event in logged if re.match(r"dbt \d+ of \d+: ", event.message)]
        planned = [
            event.dagster_event.asset_key.to_user_string()
            for event in logged
            if event.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ]
        dates_materialized = dg.DagsterInstance.get().get_materialized_partitions(
            dg.AssetKey(["marts", "customer_segments"])
        )

    return RunsOverTime(
        data_dir=data_dir,
        history_before=before,
        account=account,
        erp_only=erp_only,
        rated=rated,
        backfill=backfill,
        history_after=history(warehouse),
        published_after=published(data_dir / "serving"),
        runs=runs,
        chunks=chunks,
        progress=progress,
        planned=planned,
        dates_materialized=dates_materialized,
        reader_rounds=reader_rounds(seen),
    )
