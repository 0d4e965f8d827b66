"""Publish the serving tables (SPEC section 6) for BI: a DuckDB file, Parquet files and, optionally, PostgreSQL.

BI tools read while the nightly job runs, so no reader may ever see an error
or half a state:

- the DuckDB file is written whole under a temporary name and renamed over
  `serving/crmseg.duckdb`; a reader that opened the old file keeps reading it;
- the Parquet files are written into a new folder and the symlink
  `serving/parquet` is swung to it; the folder before stays for open readers;
- PostgreSQL gets the rows of every table in schema `crmseg` replaced in one
  transaction, which readers never wait on.

Everything is prepared before anything is swapped, so a failure leaves every
destination as it was. The tables hold no personal data: the marts carry none
by contract, and `check_no_personal_columns` refuses a column whose name says
otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import sqlalchemy as sa

from crmseg import duck
from crmseg.duck import literal, quote
from crmseg.errors import CrmsegError
from crmseg.quality import RESULTS_TABLE

# serving table -> where it lives in the warehouse
SERVING_TABLES = {
    "customer_segments": "marts.customer_segments",
    "customer_segments_history": "marts.customer_segments_history",
    "strategy_assignments": "marts.strategy_assignments",
    "segment_summary": "marts.segment_summary",
    "segment_transitions": "marts.segment_transitions",
    "data_quality_results": RESULTS_TABLE,
}
SEGMENT_TABLES = ("customer_segments", "strategy_assignments", "segment_summary")
# column names that would hold contact data or a person's name
PERSONAL_NAME = re.compile(r"e_?mail|phone|mobile|tax_id|contact|full_name|customer_name|account_name|person")
SCHEMA = "crmseg"
READER_ROLE = "crmseg_reader"
PARQUET_VERSIONS_KEPT = 2  # the current folder and the one before it, for readers still in it


@dataclass(frozen=True)
class Published:
    file: Path
    parquet: Path
    postgres: bool
    rows: dict[str, int]
    as_of_date: str
    seconds: float


def serving_file(serving_dir: Path) -> Path:
    return serving_dir / "crmseg.duckdb"


def check_no_personal_columns(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    for table, source in SERVING_TABLES.items():
        for (column,) in con.execute(f"SELECT column_name FROM (DESCRIBE {catalog}.{source})").fetchall():
            if PERSONAL_NAME.search(column):
                raise CrmsegError(f"publish: {table}.{column} looks like personal data; not published")


def publish(
    warehouse: Path, serving_dir: Path, run_id: str, timezone: str, postgres_url: str | None = None
) -> Published:
    started = time.monotonic()
    serving_dir.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{run_id[:8]}"
    staged = serving_dir / f".crmseg-{stamp}.duckdb"
    parquet_dir = serving_dir / f"parquet-{stamp}"
    try:
        with duck.connect(staged, timezone=timezone) as con:
            rows, as_of = write_serving_file(con, warehouse, run_id)
            write_parquet(con, parquet_dir)
        if postgres_url:
            publish_postgres(staged, postgres_url, timezone)
    except BaseException:
        staged.unlink(missing_ok=True)
        shutil.rmtree(parquet_dir, ignore_errors=True)
        raise
    # everything is ready: the swaps are renames
    os.replace(staged, serving_file(serving_dir))
    swing_symlink(serving_dir / "parquet", parquet_dir)
    prune_parquet_versions(serving_dir, keep=parquet_dir)
    return Published(
        file=serving_file(serving_dir),
        parquet=serving_dir / "parquet",
        postgres=bool(postgres_url),
        rows=rows,
        as_of_date=as_of,
        seconds=time.monotonic() - started,
    )


def write_serving_file(con: duckdb.DuckDBPyConnection, warehouse: Path, run_id: str) -> tuple[dict[str, int], str]:
    """Every serving table into the new file `con` holds, and `_published` saying which run and date it is."""
    con.execute(f"ATTACH {literal(str(warehouse))} AS warehouse (READ_ONLY)")
    try:
        check_no_personal_columns(con, "warehouse")
        for table, source in SERVING_TABLES.items():
            con.execute(f"CREATE TABLE main.{quote(table)} AS SELECT * FROM warehouse.{source}")
    finally:
        con.execute("DETACH warehouse")
    rows = {table: con.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0] for table in SERVING_TABLES}
    empty = [table for table in SEGMENT_TABLES if not rows[table]]
    if empty:
        raise CrmsegError(f"publish: {', '.join(empty)} would be empty; the serving tables are left as they were")
    as_of = str(con.execute("SELECT max(as_of_date) FROM customer_segments").fetchone()[0])
    con.execute(
        "CREATE TABLE _published AS "
        "SELECT ? AS run_id, CAST(? AS DATE) AS as_of_date, current_timestamp AS published_at",
        [run_id, as_of],
    )
    con.execute("CHECKPOINT")
    return rows, as_of


def write_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    folder.mkdir()
    for table in (*SERVING_TABLES, "_published"):
        con.execute(f"COPY {quote(table)} TO {literal(str(folder / f'{table}.parquet'))} (FORMAT parquet)")


def swing_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` in one rename: a reader finds the old folder or the new one, never neither."""
    if link.exists() and not link.is_symlink():
        raise CrmsegError(f"publish: {link} is a folder, not crmseg's link; move it away")
    temporary = link.with_name(f".{link.name}-next")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target.name)
    os.replace(temporary, link)


def prune_parquet_versions(serving_dir: Path, keep: Path) -> None:
    versions = sorted(p for p in serving_dir.glob("parquet-*") if p.is_dir())
    for old in versions[:-PARQUET_VERSIONS_KEPT]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


# -- PostgreSQL -------------------------------------------------------------------------------------

PG_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "TIMESTAMP": "timestamp without time zone",
}


def pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    if duckdb_type not in PG_TYPES:
        raise CrmsegError(f"publish: no PostgreSQL type for DuckDB {duckdb_type}")
    return PG_TYPES[duckdb_type]


def publish_postgres(serving_file_path: Path, url: str, timezone: str) -> None:
    """Replace every table in schema crmseg in one transaction; readers see the old tables until it commits.

    The rows travel as CSV through COPY, the fastest way in. `crmseg_reader` may read the schema, not write it.
    """
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        pg = psycopg.connect(conninfo)
    except psycopg.Error as exc:
        raise CrmsegError(f"publish: cannot reach PostgreSQL: {str(exc).splitlines()[0]}") from None
    csv_dir = serving_file_path.with_suffix(".csv")
    csv_dir.mkdir(exist_ok=True)
    try:
        with duck.connect(serving_file_path, read_only=True, timezone=timezone) as con, pg.transaction():
            ensure_reader_role(pg)
            pg.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            for table in (*SERVING_TABLES, "_published"):
                columns = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {quote(table)})").fetchall()
                csv = csv_dir / f"{table}.csv"
                con.execute(f"COPY {quote(table)} TO {literal(str(csv))} (FORMAT csv, HEADER false, NULLSTR '\\N')")
                replace_pg_table(pg, table, columns, csv)
            pg.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {READER_ROLE}")
            pg.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {READER_ROLE}")
    except psycopg.Error as exc:
        raise CrmsegError(f"publish: PostgreSQL: {str(exc).splitlines()[0]}") from None
    finally:
        pg.close()
        shutil.rmtree(csv_dir, ignore_errors=True)


def ensure_reader_role(pg) -> None:
    exists = pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE]).fetchone()
    if not exists:
        pg.execute(f"CREATE ROLE {READER_ROLE} LOGIN")


def replace_pg_table(pg, table: str, columns: list[tuple[str, str]], csv: Path) -> None:
    """Replace the table's rows inside the caller's transaction.

    DELETE and COPY, not DROP and CREATE: they take no lock a reader waits on, so a reader
    (whatever tables it reads, in whatever order) sees the old rows until the commit, then the
    new ones. Only when the columns themselves change is the table created afresh.
    """
    name = f'{SCHEMA}."{table}"'
    wanted = [(column, pg_type(type_)) for column, type_ in columns]
    existing = pg.execute(
        """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
           WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum""",
        [name],
    ).fetchall()
    if existing == wanted:
        pg.execute(f"DELETE FROM {name}")
    else:
        pg.execute(f"DROP TABLE IF EXISTS {name}")
        pg.execute(f"CREATE TABLE {name} ({', '.join(f'{quote(c)} {t}' for c, t in wanted)})")
    with pg.cursor().copy(f"COPY {name} FROM STDIN (FORMAT csv, NULL '\\N')") as copy, csv.open("rb") as rows:
        while chunk := rows.read(1 << 20):
            copy.write(chunk)
