"""Publishing for BI: whole states only, to DuckDB, Parquet and PostgreSQL; no personal data; the report."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlalchemy as sa
from PIL import Image

from crmseg import duck
from crmseg.errors import CrmsegError
from crmseg.publish import HISTORY, HISTORY_BUILDS, SERVING_TABLES, publish
from tests.conftest import BUILT_DATES, END_DATE, NEXT_DAY, pg_state, reader_url, serving_state, wait_until

AS_OF = END_DATE.isoformat()
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
MAINLAND_PHONE = re.compile(r"(?<![\w-])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![\w-])")
CREDIT_CODE = re.compile(r"(?<!\w)[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?!\w)")
PERSONAL_COLUMN = re.compile(r"mail|phone|mobile|tax|contact|full_name|customer_name|account_name")


def serving(data_dir: Path) -> Path:
    return data_dir / "serving" / "crmseg.duckdb"


# -- what is published --------------------------------------------------------------------------------


def test_every_serving_table_is_in_the_file_and_in_parquet(built_two_dates):
    data_dir = built_two_dates.data_dir
    with duckdb.connect(str(serving(data_dir)), read_only=True) as con:
        tables = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == {*SERVING_TABLES, "_published", "_published_dates"}
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SERVING_TABLES}
        for table, count in counts.items():
            parquet = (
                data_dir / "serving" / "parquet" / (f"{table}/*.parquet" if table == HISTORY else f"{table}.parquet")
            )
            assert con.execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0] == count, table
        # the history: a file per as-of date
        files = sorted(p.name for p in (data_dir / "serving" / "parquet" / HISTORY).iterdir())
        assert files == [f"{day}.parquet" for day in BUILT_DATES]
        assert con.execute("SELECT as_of_date::VARCHAR FROM _published").fetchone()[0] == AS_OF
    assert counts["customer_segments"] > 0 and counts["data_quality_results"] > 0


def test_no_serving_column_holds_personal_data(built_two_dates, demo_sources):
    # every name of a person or customer the sources hold, to look for in the serving tables
    names: set[str] = set()
    for database, query in (
        ("crm.sqlite", "SELECT account_name FROM accounts UNION SELECT full_name FROM contacts"),
        ("erp.sqlite", "SELECT customer_name FROM customers"),
    ):
        with sqlite3.connect(demo_sources / database) as con:
            names |= {n for (n,) in con.execute(query).fetchall() if n}
    assert len(names) > 100

    with duckdb.connect(str(serving(built_two_dates.data_dir)), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal"
        ).fetchall()
        assert len(columns) > 60
        for table, column, type_ in columns:
            assert not PERSONAL_COLUMN.search(column), f"{table}.{column}"
            if type_ != "VARCHAR":
                continue
            values = [v for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM {table}').fetchall() if v]
            for pattern in (EMAIL, MAINLAND_PHONE, CREDIT_CODE):
                found = [v for v in values if pattern.search(v)]
                assert not found, f"{table}.{column} holds {pattern.pattern}: {found[:3]}"
            assert not names & set(values), f"{table}.{column} holds names: {sorted(names & set(values))[:3]}"
        # without consent, no marketing action
        marketed = (
            "SELECT count(*) FROM strategy_assignments WHERE NOT marketing_allowed AND actions NOT LIKE 'No marketing%'"
        )
        assert con.execute(marketed).fetchone()[0] == 0


# -- whole states only -----------------------------------------------------------------------------


def test_a_reader_during_a_run_sees_no_error_and_only_whole_states(runs_over_time):
    """Two BI readers of the serving file while the backfill of runs_over_time publishes NEXT_DAY."""
    assert runs_over_time.backfill.success, runs_over_time.backfill.failure
    rounds = runs_over_time.reader_rounds
    errors = [r for r in rounds if "error" in r]
    assert not errors, errors[:3]
    assert all(r["whole"] for r in rounds), [r for r in rounds if not r["whole"]][:3]
    held = {r["published_as_of"] for r in rounds if r["how"] == "held"}
    fresh = [r["published_as_of"] for r in rounds if r["how"] == "new"]
    assert held == {AS_OF}  # the connection opened before the run keeps the old state, whole
    assert fresh[0] == AS_OF and fresh[-1] == NEXT_DAY.isoformat()  # new connections moved to the new one
    assert len(rounds) > 20


# -- the DuckDB file as docs/bi.md tells BI tools to open it --------------------------------------------

BI_PAGE = Path(__file__).resolve().parent.parent / "docs" / "bi.md"
DOCUMENTED_FILE = "/srv/crmseg/data/serving/crmseg.duckdb"


def documented_duckdb_engine(serving_file: Path) -> sa.Engine:
    """The Superset database docs/bi.md gives, for this serving file: its SQLAlchemy URI and engine parameters,
    read from the page and passed to create_engine as Superset passes them."""
    page = BI_PAGE.read_text()
    uri = re.search(r"^    (duckdb:///\S+)$", page, re.M).group(1)
    assert DOCUMENTED_FILE in uri
    parameters = json.loads(re.search(r'^    (\{"connect_args".*\})$', page, re.M).group(1))
    # Superset opens a connection per query: its engines have no pool unless configured to
    return sa.create_engine(uri.replace(DOCUMENTED_FILE, str(serving_file)), poolclass=sa.pool.NullPool, **parameters)


def test_the_documented_duckdb_connection_reads_the_tables_and_reaches_nothing_else(built_two_dates, tmp_path):
    serving_file = serving(built_two_dates.data_dir)
    engine = documented_duckdb_engine(serving_file)
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    with engine.connect() as con:
        assert con.exec_driver_sql("SELECT current_schema()").scalar() == "main"
        assert con.exec_driver_sql("SELECT as_of_date::VARCHAR FROM _published").scalar() == AS_OF
        assert con.exec_driver_sql("SELECT count(*) FROM customer_segments").scalar() > 0
    blocked = {
        "writes a file": f"COPY customer_segments TO '{tmp_path / 'out.csv'}'",
        "reads a file": f"SELECT * FROM read_csv('{secret}')",
        "attaches the warehouse": f"ATTACH '{built_two_dates.warehouse}' AS warehouse (READ_ONLY)",
        "lists files": f"SELECT * FROM glob('{tmp_path}/*')",
        "turns access back on": "SET enable_external_access = true",
        "writes the file itself": "CREATE TABLE mine AS SELECT 1 AS x",
    }
    for what, statement in blocked.items():
        with engine.connect() as con, pytest.raises(sa.exc.DBAPIError) as raised:
            con.exec_driver_sql(statement)
        assert isinstance(raised.value.orig, duckdb.Error), what
    assert not (tmp_path / "out.csv").exists()
    engine.dispose()


def test_a_duckdb_reader_process_sees_a_new_night_at_its_next_connection(built_two_dates, tmp_path):
    """The serving file is a link a publish swings to a complete file, and DuckDB shares an open file among the
    connections of a process by the file the path names: a new connection gets the new night at once while one
    held keeps the old; and a second configuration for the file fails while the first holds it (one BI database per
    serving file)."""
    serving_dir = tmp_path / "serving"
    publish(built_two_dates.warehouse, serving_dir, "run-1", TIMEZONE)
    engine = documented_duckdb_engine(serving(tmp_path))
    run_of = "SELECT run_id FROM _published"
    with engine.connect() as held:
        assert held.exec_driver_sql(run_of).scalar() == "run-1"
        publish(built_two_dates.warehouse, serving_dir, "run-2", TIMEZONE)
        with engine.connect() as new:
            assert new.exec_driver_sql(run_of).scalar() == "run-2"
            assert held.exec_driver_sql(run_of).scalar() == "run-1"
            with pytest.raises(duckdb.ConnectionException, match="different configuration"):
                duckdb.connect(str(serving(tmp_path)), read_only=True)
        # `held` still holds the file the next publish would bring up to date: it writes a new file and renames it
        # over that one, and until `held` closes, the process's new connections to that name get its old state
        publish(built_two_dates.warehouse, serving_dir, "run-3", TIMEZONE)
        with engine.connect() as new:
            assert new.exec_driver_sql(run_of).scalar() == "run-1"
        assert held.exec_driver_sql(run_of).scalar() == "run-1"
    with engine.connect() as after:
        assert after.exec_driver_sql(run_of).scalar() == "run-3"
    engine.dispose()


# -- PostgreSQL: publish() itself, from the warehouses the whole-pipeline runs left ----------------------

TIMEZONE = "Asia/Shanghai"


def test_postgres_readers_may_only_read(built_two_dates, postgres_url, tmp_path):
    """crmseg_reader finds the tables without the schema name, starts read-only, and cannot write even when it
    turns the read-only default off: its grants allow SELECT only."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # as on a server where the role has no defaults
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'crmseg_reader'").fetchone():
            admin.execute("ALTER ROLE crmseg_reader RESET ALL")
    published = publish(built_two_dates.warehouse, tmp_path / "serving", "run-1", TIMEZONE, postgres_url)
    assert pg_state(postgres_url)[:3] == ("run-1", AS_OF, published.rows["customer_segments"])
    writes = (
        "DELETE FROM customer_segments",
        "INSERT INTO segment_summary (segment) VALUES ('x')",
        "CREATE TABLE crmseg.mine (x int)",
        "CREATE TABLE public.mine (x int)",
        "DROP TABLE strategy_assignments",
    )
    with psycopg.connect(reader_url(postgres_url), autocommit=True) as pg:
        assert pg.execute("SHOW search_path").fetchone()[0] == "crmseg"
        assert pg.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert pg.execute("SELECT count(*) FROM customer_segments").fetchone()[0] == published.rows["customer_segments"]
        for statement in writes:
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                pg.execute(statement)
        pg.execute("SET default_transaction_read_only = off")
        for statement in writes:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute(statement)


def test_a_postgres_reader_sees_each_publish_whole(built_two_dates, runs_over_time, postgres_url, tmp_path):
    """A reader querying in a loop while the next day's state is published: never an error, always one whole state."""
    seen, errors, stop = [], [], threading.Event()

    def read() -> None:
        with psycopg.connect(reader_url(postgres_url), autocommit=True) as pg:
            while not stop.is_set():
                try:
                    seen.append(
                        pg.execute(
                            """SELECT (SELECT as_of_date::text FROM crmseg._published),
                                      (SELECT max(as_of_date)::text FROM crmseg.customer_segments),
                                      (SELECT count(*) FROM crmseg.customer_segments),
                                      (SELECT count(*) FROM crmseg.strategy_assignments)"""
                        ).fetchone()
                    )
                except psycopg.Error as exc:
                    errors.append(str(exc))

    serving_dir = tmp_path / "serving"
    publish(built_two_dates.warehouse, serving_dir, "run-1", TIMEZONE, postgres_url)
    thread = threading.Thread(target=read)
    thread.start()
    try:
        wait_until(lambda: seen, "the reader's first round")
        publish(runs_over_time.warehouse, serving_dir, "run-2", TIMEZONE, postgres_url)
        rounds = len(seen)
        wait_until(lambda: len(seen) > rounds, "the reader's round after the publish")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors[:3]
    assert all(a == b and c == d for a, b, c, d in seen)
    assert seen[0][0] == AS_OF and seen[-1][0] == NEXT_DAY.isoformat()
    assert len({count for _, _, count, _ in seen}) == 2  # the two states differ, so a half state would show


def test_a_failed_publish_changes_nothing_anywhere(built_two_dates, runs_over_time, postgres_url, tmp_path):
    """Publishing the next day fails in PostgreSQL after some tables were replaced in its transaction: every
    destination keeps the state before."""
    serving_dir = tmp_path / "serving"
    publish(built_two_dates.warehouse, serving_dir, "run-1", TIMEZONE, postgres_url)
    before, files_before = pg_state(postgres_url), serving_state(tmp_path)
    # the last table has a column PostgreSQL gets no type for, so the failure comes after the others were replaced
    broken = tmp_path / "broken.duckdb"
    shutil.copy(runs_over_time.warehouse, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute(f"ALTER TABLE {SERVING_TABLES['data_quality_results']} ADD COLUMN waited INTERVAL")
    with pytest.raises(CrmsegError, match="no PostgreSQL type for DuckDB INTERVAL"):
        publish(broken, serving_dir, "run-2", TIMEZONE, postgres_url)
    assert pg_state(postgres_url) == before
    assert serving_state(tmp_path) == files_before


def test_a_publish_writes_the_history_dates_dbt_rebuilt_and_no_other(built_two_dates, postgres_url, tmp_path):
    """The history grows by a date a night: each destination gets the dates whose dbt build it does not hold and
    loses those gone from the warehouse, and ends equal to the warehouse's history, row for row."""
    warehouse, serving_dir = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    shutil.copy(built_two_dates.warehouse, warehouse)
    earlier, later = BUILT_DATES

    first = publish(warehouse, serving_dir, "run-1", TIMEZONE, postgres_url)
    assert (first.history_dates, first.history_dates_written) == (2, 2)
    assert_history_everywhere(warehouse, serving_dir, postgres_url)
    kept = serving_dir / "parquet" / HISTORY / f"{later}.parquet"
    kept_inode = kept.stat().st_ino

    # dbt rebuilds the earlier date (here by hand: its rows change, and so does the build they record)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            f"UPDATE {HISTORY_BUILDS} SET monetary = monetary + 1, dbt_invocation_id = 'rebuilt' WHERE as_of_date = ?",
            [earlier],
        )
    second = publish(warehouse, serving_dir, "run-2", TIMEZONE, postgres_url)
    assert (second.history_dates, second.history_dates_written) == (2, 1)
    assert_history_everywhere(warehouse, serving_dir, postgres_url)
    assert kept.stat().st_ino == kept_inode  # the later date's file is the one published before, linked

    # nothing rebuilt: nothing of the history is written
    assert publish(warehouse, serving_dir, "run-3", TIMEZONE, postgres_url).history_dates_written == 0
    assert_history_everywhere(warehouse, serving_dir, postgres_url)

    # the earlier date is gone from the warehouse; and PostgreSQL missed a publish, so it is written whole
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"DELETE FROM {HISTORY_BUILDS} WHERE as_of_date = ?", [earlier])
    publish(warehouse, serving_dir, "run-4", TIMEZONE)
    last = publish(warehouse, serving_dir, "run-5", TIMEZONE, postgres_url)
    assert (last.history_dates, last.history_dates_written) == (1, 0)
    assert_history_everywhere(warehouse, serving_dir, postgres_url)

    # a serving file written before the dates were recorded is written whole
    with duckdb.connect(str(serving_dir / "crmseg.duckdb")) as con:
        con.execute("DROP TABLE _published_dates")
    assert publish(warehouse, serving_dir, "run-6", TIMEZONE, postgres_url).history_dates_written == 1
    assert_history_everywhere(warehouse, serving_dir, postgres_url)


def assert_history_everywhere(warehouse: Path, serving_dir: Path, postgres_url: str) -> None:
    """The serving file, the Parquet files and PostgreSQL each hold the warehouse's history, row for row."""
    with duck.connect() as con:
        con.execute(f"ATTACH '{warehouse}' AS warehouse (READ_ONLY)")
        con.execute(f"ATTACH '{serving_dir / 'crmseg.duckdb'}' AS served (READ_ONLY)")
        con.execute(f"ATTACH '{postgres_url}' AS pg (TYPE postgres, READ_ONLY)")
        want = f"warehouse.{SERVING_TABLES[HISTORY]}"
        assert con.execute(f"SELECT count(*) FROM {want}").fetchone()[0] > 0
        for got in (
            f"served.{HISTORY}",
            f"read_parquet('{serving_dir}/parquet/{HISTORY}/*.parquet')",
            f"pg.crmseg.{HISTORY}",
        ):
            for a, b in ((want, got), (got, want)):  # rows missing, rows extra
                assert con.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchone()[0] == 0, got
        dates_held = "SELECT as_of_date, dbt_invocation_id FROM served._published_dates"
        dates_built = f"SELECT DISTINCT as_of_date, dbt_invocation_id FROM warehouse.{HISTORY_BUILDS}"
        assert sorted(con.execute(dates_held).fetchall()) == sorted(con.execute(dates_built).fetchall())


# -- the report --------------------------------------------------------------------------------------------

CHART_COLOURS = {"bars": (47, 111, 223), "resource shares": (245, 158, 11), "Pareto curve": (15, 118, 110)}


def test_the_report_opens_offline_and_its_charts_render(built_two_dates, tmp_path):
    report = built_two_dates.report(END_DATE)
    html = report.read_text()
    for chart in ('class="bars"', 'class="heat-map"', 'class="pareto"', 'class="bars funnel"'):
        assert chart in html
    assert "<script" not in html and "http" not in html and "Strategy groups" in html and "Data quality" in html

    shot = tmp_path / "report.png"
    done = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2400",
         f"--screenshot={shot}", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.exists(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    pixels = list(image.get_flattened_data())
    assert sum(p != (255, 255, 255) for p in pixels) > 0.05 * len(pixels)  # not blank
    colours = set(pixels)
    for chart, colour in CHART_COLOURS.items():
        assert colour in colours, f"no {chart} drawn"
    heat = {p for p in colours if p[2] >= 220 and p[0] < 200 and p[1] < 230 and p[0] < p[1] < p[2]}
    assert len(heat) >= 5, "the RFM heat map has fewer than five shades"


def test_the_serving_tables_page_is_current_and_describes_every_column(built_two_dates):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
    from generate_serving_tables import PAGE, page

    assert PAGE.read_text() == page(), "run: .venv/bin/python docs/generate_serving_tables.py"
    documented: dict[str, set[str]] = {}
    table = None
    for line in PAGE.read_text().splitlines():
        if line.startswith("## "):
            table = line[3:]
        elif line.startswith("| `"):
            name, _, meaning = line.strip("| ").split(" | ")
            assert meaning.strip(), f"{table}.{name} has no description"
            documented.setdefault(table, set()).add(name.strip("`"))
    with duckdb.connect(str(serving(built_two_dates.data_dir)), read_only=True) as con:
        for served in SERVING_TABLES:
            columns = {c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {served})").fetchall()}
            assert documented[served] == columns, served
