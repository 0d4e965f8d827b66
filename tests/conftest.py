"""Shared fixtures: generated sources, fresh databases on the real servers, warehouse fingerprints.

PostgreSQL and MariaDB tests use the servers on localhost. Outside CI a test
whose server is down skips with the reason; in CI (CI=true) it fails.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmseg import contract, duck
from crmseg.generate import GenerateOptions, generate

POSTGRES_ADMIN_URL = os.environ.get("CRMSEG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("CRMSEG_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
END_DATE = date(2026, 6, 30)


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


def run_cli(settings: dict[str, str], *args: str) -> int:
    """`crmseg ARGS` with these settings, for fixtures wider than one test."""
    from orchestration.cli import main

    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        return main(list(args))


@pytest.fixture
def env(tmp_path, monkeypatch, demo_sources):
    """Settings pointing at a fresh data dir and a private copy of the demo sources."""
    sources = tmp_path / "sources"
    shutil.copytree(demo_sources, sources)
    for name, value in settings_for(sources, tmp_path).items():
        monkeypatch.setenv(name, value)
    return sources


@pytest.fixture(scope="session")
def first_run(tmp_path_factory, demo_sources) -> Path:
    """The data dir after one good run on the demo sources, for tests that look at it or break a source after."""
    root = tmp_path_factory.mktemp("first_run")
    assert run_cli(settings_for(demo_sources, root), "run", "--as-of", END_DATE.isoformat()) == 0
    return root / "data"


@pytest.fixture
def landed(env, first_run) -> Path:
    """This test's warehouse, in a copy of the data dir the first good run left."""
    data_dir = Path(os.environ["CRMSEG_DATA_DIR"])
    shutil.copytree(first_run, data_dir, symlinks=True)  # serving/parquet is a link
    return data_dir / "warehouse.duckdb"


def sqlite(path: Path, *statements: str) -> None:
    """Change a SQLite source the way its own system would."""
    with sqlite3.connect(path) as con:
        for statement in statements:
            con.execute(statement)


def renamed_required_column(sources: Path) -> None:
    """A poisoned ERP extract: the orders' customer_code column renamed."""
    sqlite(sources / "erp.sqlite", "ALTER TABLE sales_orders RENAME COLUMN customer_code TO customer_no")


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
