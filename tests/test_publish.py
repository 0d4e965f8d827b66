"""Publishing for BI: whole states only, to DuckDB, Parquet and PostgreSQL; no personal data; the report."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlalchemy as sa
from PIL import Image

from crmseg.publish import SERVING_TABLES
from orchestration.cli import main
from tests.conftest import END_DATE, renamed_required_column

AS_OF = END_DATE.isoformat()
NEXT_DAY = (END_DATE + timedelta(days=1)).isoformat()
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
MAINLAND_PHONE = re.compile(r"(?<![\w-])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![\w-])")
CREDIT_CODE = re.compile(r"(?<!\w)[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?!\w)")
PERSONAL_COLUMN = re.compile(r"mail|phone|mobile|tax|contact|full_name|customer_name|account_name")


def serving(data_dir: Path) -> Path:
    return data_dir / "serving" / "crmseg.duckdb"


def state_of(data_dir: Path) -> tuple:
    """What BI finds: the serving file's bytes, the Parquet folder the link names and its files' bytes."""
    parquet = data_dir / "serving" / "parquet"
    files = sorted(parquet.glob("*.parquet"))
    return (
        hashlib.sha256(serving(data_dir).read_bytes()).hexdigest(),
        parquet.resolve().name,
        [hashlib.sha256(f.read_bytes()).hexdigest() for f in files],
    )


# -- what is published --------------------------------------------------------------------------------


def test_every_serving_table_is_in_the_file_and_in_parquet(first_run):
    with duckdb.connect(str(serving(first_run)), read_only=True) as con:
        tables = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == {*SERVING_TABLES, "_published"}
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SERVING_TABLES}
        for table, count in counts.items():
            parquet = first_run / "serving" / "parquet" / f"{table}.parquet"
            assert con.execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0] == count, table
        assert con.execute("SELECT as_of_date::VARCHAR FROM _published").fetchone()[0] == AS_OF
    assert counts["customer_segments"] > 0 and counts["data_quality_results"] > 0


def test_no_serving_column_holds_personal_data(first_run, demo_sources):
    # every name of a person or customer the sources hold, to look for in the serving tables
    names: set[str] = set()
    for database, query in (
        ("crm.sqlite", "SELECT account_name FROM accounts UNION SELECT full_name FROM contacts"),
        ("erp.sqlite", "SELECT customer_name FROM customers"),
    ):
        with sqlite3.connect(demo_sources / database) as con:
            names |= {n for (n,) in con.execute(query).fetchall() if n}
    assert len(names) > 100

    with duckdb.connect(str(serving(first_run)), read_only=True) as con:
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


def test_a_reader_during_a_run_sees_no_error_and_only_whole_states(env, landed, tmp_path):
    data_dir = landed.parent
    stop, seen = tmp_path / "stop", tmp_path / "seen.jsonl"
    script = str(Path(__file__).with_name("serving_reader.py"))
    readers = [
        subprocess.Popen([sys.executable, script, how, str(serving(data_dir)), str(stop), str(seen)])
        for how in ("held", "new")
    ]
    try:
        time.sleep(2)
        assert main(["run", "--as-of", NEXT_DAY]) == 0
        time.sleep(1)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)

    rounds = [json.loads(line) for line in seen.read_text().splitlines()]
    errors = [r for r in rounds if "error" in r]
    assert not errors, errors[:3]
    assert all(r["whole"] for r in rounds), [r for r in rounds if not r["whole"]][:3]
    held = {r["published_as_of"] for r in rounds if r["how"] == "held"}
    fresh = [r["published_as_of"] for r in rounds if r["how"] == "new"]
    assert held == {AS_OF}  # the connection opened before the run keeps the old state, whole
    assert fresh[0] == AS_OF and fresh[-1] == NEXT_DAY  # new connections moved to the new one
    assert len(rounds) > 20


def test_a_failed_run_leaves_the_serving_file_and_parquet_unchanged(env, landed):
    before = state_of(landed.parent)
    renamed_required_column(env)
    assert main(["run", "--as-of", NEXT_DAY]) == 1
    assert state_of(landed.parent) == before


# -- PostgreSQL -------------------------------------------------------------------------------------------


def pg_state(url: str) -> tuple:
    with psycopg.connect(url, autocommit=True) as pg:
        return pg.execute(
            """SELECT (SELECT run_id FROM crmseg._published), (SELECT as_of_date::text FROM crmseg._published),
                      (SELECT count(*) FROM crmseg.customer_segments),
                      (SELECT count(*) FROM crmseg.strategy_assignments),
                      (SELECT max(as_of_date)::text FROM crmseg.customer_segments),
                      (SELECT count(*) FROM crmseg.data_quality_results)"""
        ).fetchone()


def test_postgres_publish_is_readable_by_the_reader_role_and_swapped_whole(env, landed, postgres_url, monkeypatch):
    monkeypatch.setenv("CRMSEG_PUBLISH_POSTGRES_URL", postgres_url)
    assert main(["run", "--as-of", AS_OF]) == 0
    run_id, as_of, segments, strategy, latest, checks = pg_state(postgres_url)
    with duckdb.connect(str(serving(landed.parent)), read_only=True) as con:
        assert con.execute("SELECT run_id FROM _published").fetchone()[0] == run_id
        assert con.execute("SELECT count(*) FROM customer_segments").fetchone()[0] == segments
        assert con.execute("SELECT count(*) FROM data_quality_results").fetchone()[0] == checks
    assert as_of == latest == AS_OF and segments == strategy > 0

    reader_url = sa.make_url(postgres_url).set(username="crmseg_reader").render_as_string(hide_password=False)
    with psycopg.connect(reader_url, autocommit=True) as pg:
        assert pg.execute("SELECT count(*) FROM crmseg.customer_segments").fetchone()[0] == segments
        for statement in (
            "DELETE FROM crmseg.customer_segments",
            "INSERT INTO crmseg.segment_summary (segment) VALUES ('x')",
            "CREATE TABLE crmseg.mine (x int)",
            "DROP TABLE crmseg.strategy_assignments",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute(statement)

    # a reader querying in a loop while the next day is published: never an error, always one whole state
    seen, errors, stop = [], [], threading.Event()

    def read() -> None:
        with psycopg.connect(reader_url, autocommit=True) as pg:
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

    thread = threading.Thread(target=read)
    thread.start()
    try:
        assert main(["run", "--as-of", NEXT_DAY]) == 0
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors[:3]
    assert all(a == b and c == d for a, b, c, d in seen)
    assert seen[0][0] == AS_OF and seen[-1][0] == NEXT_DAY

    # a failed run changes nothing there either
    before = pg_state(postgres_url)
    renamed_required_column(env)
    assert main(["run", "--as-of", NEXT_DAY]) == 1
    assert pg_state(postgres_url) == before


# -- the report --------------------------------------------------------------------------------------------

CHART_COLOURS = {"bars": (47, 111, 223), "resource shares": (245, 158, 11), "Pareto curve": (15, 118, 110)}


def test_the_report_opens_offline_and_its_charts_render(first_run, tmp_path):
    [report] = (first_run / "reports").glob("run-*.html")
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
    pixels = list(image.getdata())
    assert sum(p != (255, 255, 255) for p in pixels) > 0.05 * len(pixels)  # not blank
    colours = set(pixels)
    for chart, colour in CHART_COLOURS.items():
        assert colour in colours, f"no {chart} drawn"
    heat = {p for p in colours if p[2] >= 220 and p[0] < 200 and p[1] < 230 and p[0] < p[1] < p[2]}
    assert len(heat) >= 5, "the RFM heat map has fewer than five shades"


def test_the_serving_tables_page_is_current_and_describes_every_column(first_run):
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
    with duckdb.connect(str(serving(first_run)), read_only=True) as con:
        for served in SERVING_TABLES:
            columns = {c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {served})").fetchall()}
            assert documented[served] == columns, served
