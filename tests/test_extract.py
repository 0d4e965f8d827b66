"""Extraction from SQLite, from files and from the real PostgreSQL and MariaDB: full, incremental, idempotent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmseg import contract, duck
from crmseg.generate.sinks import engine_url
from crmseg.landing import LandingResult, land_table
from crmseg.sources import SourceLocation
from expectations.runner import validate
from tests.conftest import land_sources, make_sources, raw_counts

NEW_ORDER = (
    "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) "
    "VALUES ('SO-TEST-1', '{customer}', '2026-07-01', 'completed', 1234.50, '2026-07-01 10:00:00')"
)
NEW_LINES = (
    "INSERT INTO sales_order_lines (order_id, line_no, product_code, product_category, quantity, unit_price, "
    "discount_amount, line_amount) VALUES ('SO-TEST-1', 1, 'P-1', 'software', 1, 1000.00, 0.00, 1000.00), "
    "('SO-TEST-1', 2, 'P-2', 'service', 1, 234.50, 0.00, 234.50)"
)
CHANGED_ORDER = (
    "UPDATE sales_orders SET status = 'returned', updated_at = '2026-07-01 11:00:00' WHERE order_id = '{order}'"
)


@dataclass
class Backend:
    urls: dict[str, str]
    erp: ErpWriter


class ErpWriter:
    """Changes ERP tables the way the source system itself would."""

    def __init__(self, url: str):
        self.engine = sa.create_engine(engine_url(url))

    def execute(self, table: str, statement: str) -> None:
        with self.engine.begin() as con:
            con.execute(sa.text(statement))


class FileErpWriter:
    """The file source's "system" rewrites the table's files; a folder table gets a new part file."""

    def __init__(self, directory: Path):
        self.directory = directory

    def execute(self, table: str, statement: str) -> None:
        path = self.directory / f"{table}.csv"
        with duck.connect() as con:
            if path.exists():
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', all_varchar = true)")
                con.execute(statement)
                con.execute(f"COPY {table} TO '{path}' (HEADER)")
            else:  # a folder of parts: the new rows arrive as one more file
                folder = self.directory / table
                con.execute(
                    f"CREATE TABLE {table} AS SELECT * FROM read_csv('{folder}/*.csv', all_varchar = true) LIMIT 0"
                )
                con.execute(statement)
                con.execute(f"COPY {table} TO '{folder}/part-new.csv' (HEADER)")


def embedded(tmp_path: Path) -> Backend:
    make_sources(tmp_path, dirty_rate=0)
    urls = {"crm": f"sqlite:///{tmp_path}/crm.sqlite", "erp": f"sqlite:///{tmp_path}/erp.sqlite"}
    return Backend({**urls, "service": str(tmp_path / "service")}, ErpWriter(urls["erp"]))


def files(tmp_path: Path) -> Backend:
    """Every table as a file or a folder of files, in each of the three formats."""
    generated = tmp_path / "generated"
    make_sources(generated, dirty_rate=0)
    layout = {
        "crm.accounts": "csv",
        "crm.contacts": "parquet",
        "crm.campaigns": "jsonl",
        "crm.campaign_responses": "parquet-folder",
        "erp.customers": "parquet",
        "erp.sales_orders": "csv",
        "erp.sales_order_lines": "csv-folder",
    }
    with duck.connect() as con:
        for qualified, form in layout.items():
            table = contract.table(qualified)
            target = tmp_path / table.source
            target.mkdir(exist_ok=True)
            relation = f"sqlite_scan('{generated}/{table.source}.sqlite', '{table.name}')"
            if form.endswith("folder"):
                fmt = form.split("-")[0]
                (target / table.name).mkdir()
                for part in range(2):
                    con.execute(
                        f"COPY (SELECT * FROM {relation} WHERE hash({table.key[0]}) % 2 = {part}) "
                        f"TO '{target}/{table.name}/part-{part}.{fmt}' "
                        f"({'HEADER' if fmt == 'csv' else 'FORMAT parquet'})"
                    )
            else:
                options = {"csv": "HEADER", "parquet": "FORMAT parquet", "jsonl": "FORMAT json"}[form]
                con.execute(f"COPY (SELECT * FROM {relation}) TO '{target}/{table.name}.{form}' ({options})")
    shutil.copytree(generated / "service", tmp_path / "service")
    urls = {source: str(tmp_path / source) for source in contract.SOURCES}
    return Backend(urls, FileErpWriter(tmp_path / "erp"))


def production(tmp_path: Path, postgres_url: str, mariadb_url: str) -> Backend:
    make_sources(tmp_path, dirty_rate=0, crm_url=postgres_url, erp_url=mariadb_url)
    urls = {"crm": postgres_url, "erp": mariadb_url, "service": str(tmp_path / "service")}
    return Backend(urls, ErpWriter(mariadb_url))


@pytest.fixture(params=["embedded", "files", "production"])
def backend(request, tmp_path) -> Backend:
    if request.param == "production":
        return production(tmp_path, request.getfixturevalue("postgres_url"), request.getfixturevalue("mariadb_url"))
    return {"embedded": embedded, "files": files}[request.param](tmp_path)


def land_all(warehouse: Path, backend: Backend, **options) -> dict[str, LandingResult]:
    return land_sources(warehouse, backend.urls, load_id=f"test-{len(options)}", **options)


def contents(warehouse: Path, qualified: str) -> set[tuple]:
    """The landed rows without their load metadata, as text, for comparing loads."""
    table = contract.table(qualified)
    columns = ", ".join(f"CAST({c} AS VARCHAR)" for c in table.column_names)
    with duck.connect(warehouse, read_only=True) as con:
        return set(con.execute(f"SELECT {columns} FROM raw_{table.source}.{table.name}").fetchall())


def rows_at_mark(warehouse: Path, result: LandingResult) -> int:
    table = contract.table(result.table)
    stamp = f"TRY_CAST({table.incremental_column} AS TIMESTAMPTZ)"
    if table.incremental_fallback:
        stamp = f"coalesce({stamp}, TRY_CAST({table.incremental_fallback} AS TIMESTAMPTZ))"
    with duck.connect(warehouse, read_only=True, timezone="Asia/Shanghai") as con:
        return con.execute(
            f"SELECT count(*) FROM {result.raw_table} WHERE {stamp} = ?", [result.high_water_mark]
        ).fetchone()[0]


def test_full_then_incremental_then_nothing(tmp_path, backend):
    warehouse = tmp_path / "warehouse.duckdb"
    first = land_all(warehouse, backend)
    manifest_rows = {q: r.rows_extracted for q, r in first.items()}
    assert all(r.mode == "full" for r in first.values())
    assert raw_counts(warehouse) == manifest_rows
    assert min(manifest_rows.values()) > 0
    with duck.connect(warehouse, read_only=True) as con:
        load_ids = con.execute("SELECT DISTINCT _load_id FROM raw_erp.sales_orders").fetchall()
        assert load_ids == [("test-0",)]
        customer, order = con.execute(
            "SELECT customer_code, order_id FROM raw_erp.sales_orders "
            "WHERE status = 'completed' ORDER BY order_id LIMIT 1"
        ).fetchone()
    orders_before = contents(warehouse, "erp.sales_orders")
    accounts_before = contents(warehouse, "crm.accounts")

    backend.erp.execute("sales_orders", NEW_ORDER.format(customer=customer))
    backend.erp.execute("sales_orders", CHANGED_ORDER.format(order=order))
    backend.erp.execute("sales_order_lines", NEW_LINES)
    second = land_all(warehouse, backend, overlap=timedelta(0))

    assert second["erp.sales_orders"].mode == "incremental"
    # the new order and the changed one, and the rows stamped exactly at the old mark (read with >=)
    assert second["erp.sales_orders"].rows_extracted == 2 + rows_at_mark(warehouse, first["erp.sales_orders"])
    assert second["erp.sales_order_lines"].rows_extracted >= 2  # the lines of those two orders
    orders_after = contents(warehouse, "erp.sales_orders")
    assert len(orders_after) == len(orders_before) + 1
    changed = {row for row in orders_after - orders_before}
    assert {(row[0], row[3]) for row in changed} == {("SO-TEST-1", "completed"), (order, "returned")}
    assert raw_counts(warehouse)["erp.sales_order_lines"] == manifest_rows["erp.sales_order_lines"] + 2
    assert contents(warehouse, "crm.accounts") == accounts_before
    for qualified in ("crm.accounts", "crm.contacts", "crm.campaign_responses", "erp.customers", "service.tickets"):
        assert second[qualified].rows_extracted == rows_at_mark(warehouse, first[qualified]), qualified

    # a re-run with no change in the sources, with the default overlap: same rows, none added
    snapshot = {q: contents(warehouse, q) for q in first}
    third = land_all(warehouse, backend)
    assert {q: contents(warehouse, q) for q in first} == snapshot
    assert raw_counts(warehouse) == {q: r.rows_in_raw for q, r in second.items()}
    assert all(r.rows_in_raw == second[q].rows_in_raw for q, r in third.items())


def test_order_lines_take_the_mark_the_orders_landed_with_and_are_read_again_for_an_order_changed_since(tmp_path):
    """The lines' mark is the one their orders' landing recorded (no second read of the orders' column): an order
    changed between the two landings is after it, so its lines come again next time (and, unchanged, stay as they
    were landed)."""
    backend = embedded(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    erp = SourceLocation.parse("erp", backend.urls["erp"])
    orders, lines = contract.table("erp.sales_orders"), contract.table("erp.sales_order_lines")

    def land(table, load_id="first"):
        return land_table(warehouse, erp, table, load_id=load_id, timezone="Asia/Shanghai")

    landed_orders = land(orders)
    with duck.connect(warehouse, read_only=True) as con:
        order = con.execute("SELECT min(order_id) FROM raw_erp.sales_orders WHERE status = 'completed'").fetchone()[0]
    backend.erp.execute("sales_orders", CHANGED_ORDER.format(order=order).replace("2026-07-01", "2026-11-01"))
    landed_lines = land(lines)
    assert landed_lines.high_water_mark == landed_orders.high_water_mark < datetime(2026, 11, 1, tzinfo=UTC)

    land(orders, "next")
    again = land(lines, "next")
    with duck.connect(warehouse, read_only=True) as con:
        order_lines, first_load = con.execute(
            "SELECT count(*), count(*) FILTER (_load_id = 'first') FROM raw_erp.sales_order_lines WHERE order_id = ?",
            [order],
        ).fetchone()
    assert again.mode == "incremental" and again.rows_unchanged >= order_lines > 0
    assert again.rows_extracted >= order_lines and first_load == order_lines
    assert again.high_water_mark >= datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)


def test_rows_read_again_as_they_were_keep_their_load_and_the_others_land_again(tmp_path):
    """A row read again exactly as the raw table holds it keeps the load that brought it, so the staging does not
    stage it again; a changed row, every row of a key of which one changed, and a row whose moment may have been in
    the future when it landed (the staging judges it again) land again. The suites judge every row read."""
    backend = embedded(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    erp = SourceLocation.parse("erp", backend.urls["erp"])
    orders = contract.table("erp.sales_orders")
    backend.erp.execute(
        "sales_orders",
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) VALUES "
        "('SO-TWICE', 'C-1', '2026-06-01', 'completed', 10.00, '2026-06-01 10:00:00'), "
        "('SO-TWICE', 'C-1', '2026-06-01', 'completed', 12.00, '2026-06-01 10:00:00'), "
        "('SO-LATER', 'C-1', '2026-06-01', 'completed', 10.00, '2036-06-01 10:00:00')",
    )
    first = land_table(warehouse, erp, orders, load_id="first", timezone="Asia/Shanghai")
    with duck.connect(warehouse, read_only=True) as con:
        changed = con.execute("SELECT min(order_id) FROM raw_erp.sales_orders WHERE status = 'completed'").fetchone()
    backend.erp.execute("sales_orders", CHANGED_ORDER.format(order=changed[0]))
    backend.erp.execute("sales_orders", "UPDATE sales_orders SET total_amount = 11.00 WHERE total_amount = 12.00")

    # an overlap back to before every row: the whole table is read again, and every row read is judged
    again = land_table(
        warehouse,
        erp,
        orders,
        load_id="next",
        timezone="Asia/Shanghai",
        overlap=timedelta(days=20 * 365),
        validate=validate,
    )
    assert {o.check: o.rows for o in again.checks}["order_id_not_null"] == again.rows_extracted
    with duck.connect(warehouse, read_only=True) as con:
        landed_again = con.execute(
            "SELECT order_id, count(*) FROM raw_erp.sales_orders WHERE _load_id = 'next' GROUP BY ALL ORDER BY 1"
        ).fetchall()
        kept = con.execute("SELECT count(*) FROM raw_erp.sales_orders WHERE _load_id = 'first'").fetchone()[0]
    assert landed_again == sorted([(changed[0], 1), ("SO-LATER", 1), ("SO-TWICE", 2)])
    assert again.rows_extracted == first.rows_extracted == again.rows_in_raw == first.rows_in_raw
    assert again.rows_unchanged == kept == first.rows_in_raw - 4


# moments an ERP may write, each a day after the demo's END_DATE: SQLite narrows an incremental read as text, and
# none of them may be missed for it; the last is older than the mark and is left out
MOMENTS = {
    "SO-FMT-1": "2026-07-01 10:00:00",
    "SO-FMT-2": "2026-07-01T02:00:00Z",
    "SO-FMT-3": "2026-06-30T23:00:00-12:00",
    "SO-FMT-4": " 2026-07-01 10:00:00",
    "SO-FMT-5": "2026/07/01 10:00:00",
    "SO-FMT-6": "2026-7-1 10:00",
    "SO-FMT-OLD": "2026-05-01 10:00:00",
}


def test_an_incremental_sqlite_read_misses_no_moment_written_otherwise(tmp_path):
    backend = embedded(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    land_all(warehouse, backend)
    values = ", ".join(
        f"('{order}', 'C-FMT', '2026-07-01', 'completed', 10.00, '{moment}')" for order, moment in MOMENTS.items()
    )
    backend.erp.execute(
        "sales_orders",
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) "
        f"VALUES {values}",
    )
    landed = land_sources(warehouse, backend.urls, load_id="formats", overlap=timedelta(0))["erp.sales_orders"]
    assert landed.mode == "incremental"
    with duck.connect(warehouse, read_only=True) as con:
        new = {
            row[0] for row in con.sql("SELECT order_id FROM raw_erp.sales_orders WHERE _load_id = 'formats'").fetchall()
        }
    assert {order for order in new if order.startswith("SO-FMT")} == set(MOMENTS) - {"SO-FMT-OLD"}
    assert landed.rows_extracted < landed.rows_in_raw / 10


def raw_types(warehouse: Path, qualified: str, *columns: str) -> tuple[str, ...]:
    table = contract.table(qualified)
    with duck.connect(warehouse, read_only=True) as con:
        types = duck.column_types(con, f"raw_{table.source}.{table.name}")
    return tuple(types[c] for c in columns)


def test_a_sqlite_table_lands_typed_where_every_value_reads_as_its_declared_type_and_as_text_otherwise(tmp_path):
    """Typed where each value is what its text reads as; a night's value that is not turns its column to text; a
    full load with such a value (a number that is text, a moment with a zone) reads the table as text. No row lost."""
    backend = embedded(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    first = land_all(warehouse, backend)
    lines_types = raw_types(warehouse, "erp.sales_order_lines", "line_no", "quantity", "line_amount")
    assert lines_types == ("BIGINT", "DOUBLE", "DOUBLE")
    assert raw_types(warehouse, "erp.sales_orders", "order_date", "updated_at") == ("DATE", "TIMESTAMP")
    with duck.connect(warehouse, read_only=True) as con:
        customer = con.execute("SELECT min(customer_code) FROM raw_erp.sales_orders").fetchone()[0]

    # a night of plain values: the batch takes the raw table's types
    backend.erp.execute("sales_orders", NEW_ORDER.format(customer=customer))
    backend.erp.execute("sales_order_lines", NEW_LINES)
    land_all(warehouse, backend, overlap=timedelta(0))
    assert raw_types(warehouse, "erp.sales_order_lines", "line_no", "quantity") == ("BIGINT", "DOUBLE")
    assert raw_types(warehouse, "erp.sales_orders", "updated_at") == ("TIMESTAMP",)
    assert ("SO-TEST-1", "2", "234.5") in {row[:2] + row[-1:] for row in contents(warehouse, "erp.sales_order_lines")}

    # a night with a moment written with its zone and a quantity that is not a number: those columns become text
    backend.erp.execute(
        "sales_orders",
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) "
        f"VALUES ('SO-TEST-2', '{customer}', '2026-07-01', 'completed', 5.00, '2026-07-01T03:00:00Z')",
    )
    backend.erp.execute(
        "sales_order_lines",
        "INSERT INTO sales_order_lines (order_id, line_no, product_code, product_category, quantity, unit_price, "
        "discount_amount, line_amount) VALUES ('SO-TEST-2', 1, 'P-1', 'software', 'n/a', 5.00, 0.00, 5.00)",
    )
    night = land_all(warehouse, backend, overlap=timedelta(0))
    assert raw_types(warehouse, "erp.sales_order_lines", "line_no", "quantity") == ("BIGINT", "VARCHAR")
    assert raw_types(warehouse, "erp.sales_orders", "order_date", "updated_at") == ("DATE", "VARCHAR")
    quantities = {row[:2]: row[4] for row in contents(warehouse, "erp.sales_order_lines")}
    assert float(quantities["SO-TEST-1", "2"]) == 1 and quantities["SO-TEST-2", "1"] == "n/a"
    assert ("SO-TEST-2", "2026-07-01T03:00:00Z") in {
        (row[0], row[5]) for row in contents(warehouse, "erp.sales_orders")
    }
    landed = {q: first[q].rows_in_raw for q in ("erp.sales_orders", "erp.sales_order_lines")}
    assert night["erp.sales_orders"].rows_in_raw == landed["erp.sales_orders"] + 2
    assert night["erp.sales_order_lines"].rows_in_raw == landed["erp.sales_order_lines"] + 3

    again = land_all(warehouse, backend, full_refresh=True)
    assert raw_types(warehouse, "erp.sales_order_lines", "line_no", "quantity") == ("VARCHAR", "VARCHAR")
    assert raw_types(warehouse, "erp.sales_orders", "order_date", "updated_at") == ("VARCHAR", "VARCHAR")
    assert {q: r.rows_in_raw for q, r in again.items()} == {q: r.rows_in_raw for q, r in night.items()}
    assert ("SO-TEST-2", "1", "n/a") in {row[:2] + row[4:5] for row in contents(warehouse, "erp.sales_order_lines")}


def test_full_refresh_reloads_everything(tmp_path):
    backend = embedded(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    first = land_all(warehouse, backend)
    again = land_all(warehouse, backend, full_refresh=True)
    assert all(r.mode == "full" for r in again.values())
    assert {q: r.rows_extracted for q, r in again.items()} == {q: r.rows_extracted for q, r in first.items()}


def test_empty_file_and_empty_folder_are_empty_tables(tmp_path):
    backend = files(tmp_path)
    (tmp_path / "crm" / "contacts.parquet").unlink()
    (tmp_path / "crm" / "contacts.csv").write_text("")
    shutil.rmtree(tmp_path / "erp" / "sales_order_lines")
    (tmp_path / "erp" / "sales_order_lines").mkdir()
    results = land_all(tmp_path / "warehouse.duckdb", backend)
    assert results["crm.contacts"].rows_in_raw == 0
    assert results["erp.sales_order_lines"].rows_in_raw == 0
    assert results["crm.accounts"].rows_in_raw > 0


def test_mysql_reads_its_own_database_only(tmp_path, mariadb_url):
    """Regression: a MySQL server shows all its databases, and a same-named table in another one was read."""
    manifest = make_sources(tmp_path, customers=100, dirty_rate=0, erp_url=mariadb_url)
    decoy = "crmseg_aaa_decoy"
    admin = ErpWriter(mariadb_url)
    admin.execute("", f"CREATE DATABASE IF NOT EXISTS {decoy}")
    try:
        admin.execute("", f"CREATE TABLE {decoy}.sales_orders AS SELECT * FROM sales_orders LIMIT 1")
        admin.execute("", f"UPDATE {decoy}.sales_orders SET order_id = 'DECOY'")
        for full_refresh in (True, False):  # the bulk path and the scanner path
            table = contract.table("erp.sales_orders")
            result = land_table(
                tmp_path / "warehouse.duckdb",
                SourceLocation.parse("erp", mariadb_url),
                table,
                load_id="test",
                timezone="Asia/Shanghai",
                full_refresh=full_refresh,
            )
            assert result.rows_in_raw == manifest["rows"]["erp.sales_orders"]
            assert not any(row[0] == "DECOY" for row in contents(tmp_path / "warehouse.duckdb", "erp.sales_orders"))
    finally:
        admin.execute("", f"DROP DATABASE {decoy}")


def test_an_incremental_sqlite_read_brings_each_line_of_a_changed_order_once_and_no_line_of_an_older_one(tmp_path):
    """SQLite reads the orders once, joined to their lines: an order key written twice brings its lines once, and
    an order changed before the mark (within the day or two SQLite's text comparison lets through) brings none."""
    backend = embedded(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    mark = land_all(warehouse, backend)["erp.sales_orders"].high_water_mark
    before = (mark - timedelta(days=1)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    backend.erp.execute(
        "sales_orders",
        "INSERT INTO sales_orders (order_id, customer_code, order_date, status, total_amount, updated_at) VALUES "
        "('SO-TWICE', 'C-1', '2026-07-01', 'completed', 10.00, '2026-07-01 10:00:00'), "
        "('SO-TWICE', 'C-1', '2026-07-01', 'completed', 10.00, '2026-07-01 11:00:00'), "
        f"('SO-BEFORE', 'C-1', '2026-06-29', 'completed', 10.00, '{before}')",
    )
    backend.erp.execute("sales_order_lines", NEW_LINES.replace("SO-TEST-1", "SO-TWICE"))
    backend.erp.execute("sales_order_lines", NEW_LINES.replace("SO-TEST-1", "SO-BEFORE"))
    landed = land_sources(warehouse, backend.urls, load_id="next", overlap=timedelta(0))["erp.sales_order_lines"]
    with duck.connect(warehouse, read_only=True) as con:
        lines = con.execute(
            "SELECT order_id, count(*) FROM raw_erp.sales_order_lines WHERE _load_id = 'next' GROUP BY ALL"
        ).fetchall()
    assert landed.mode == "incremental"
    assert ("SO-TWICE", 2) in lines and "SO-BEFORE" not in {order for order, _ in lines}


def test_processes_starting_together_on_an_empty_cache_each_load_the_scanners(tmp_path):
    """Test workers or a run beside the Dagster UI may copy the packaged extensions at the same moment."""
    script = (
        "from crmseg import duck\n"
        "with duck.connect() as con:\n"
        "    for name in ('postgres_scanner', 'mysql_scanner', 'sqlite_scanner'):\n"
        "        con.execute(f'LOAD {name}')\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE) for _ in range(6)]
    errors = [process.communicate()[1].decode() for process in processes]
    assert [process.returncode for process in processes] == [0] * 6, errors
    cached = sorted(path.name for path in (tmp_path / "crmseg" / "duckdb_extensions").rglob("*") if path.is_file())
    assert cached == [f"{name}.duckdb_extension" for name in ("mysql_scanner", "postgres_scanner", "sqlite_scanner")]
