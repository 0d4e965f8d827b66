"""Publish the serving tables (SPEC section 6) for BI: a DuckDB file, Parquet files and, optionally, PostgreSQL.

BI tools read while the nightly job runs, so no reader may ever see an error
or half a state:

- `serving/crmseg.duckdb` is a link to one of two files; the publish brings
  the other one up to date (in one transaction) and swings the link to it; a
  reader that opened the file before keeps reading it;
- the Parquet files are written into a new folder and the symlink
  `serving/parquet` is swung to it; the folder before stays for open readers;
- PostgreSQL gets the rows of every table in schema `crmseg` replaced in one
  transaction, which readers never wait on.

Everything is prepared before anything is swapped, so a failure leaves every
destination as it was. The tables hold no personal data: the marts carry none
by contract, and `check_no_personal_columns` refuses a column whose name says
otherwise.

A night costs what changed, not the length of the history. Every table but
`customer_segments_history` is small or one date; the history grows by a date
each night and is published date by date. Each date in the warehouse carries
the dbt build that wrote it (`dbt_invocation_id`), and the serving file keeps
the builds it holds in `_published_dates`. The file a publish writes holds the
state of two publishes ago, and only its dates whose build differs (or are gone)
are replaced: a night writes two dates, not a copy of the whole history. Should
a reader still hold that file (it opened it before the last publish), the
publish writes a copy of the current file instead and renames it over it.
In Parquet the history is one file per date (`customer_segments_history/<date>.parquet`):
the new folder links the unchanged files of the folder before. In PostgreSQL
the changed dates' rows are deleted and copied in. Parquet and PostgreSQL are
brought from the state the current file records (what readers see now); one
that is not at that state is written whole.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import date
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
    "model_fits": "marts.model_fits",
    "segment_outcomes": "marts.segment_outcomes",
    "strategy_effects": "marts.strategy_effects",
    "customer_moves": "marts.customer_moves",
    "data_quality_results": RESULTS_TABLE,
}
SEGMENT_TABLES = ("customer_segments", "strategy_assignments", "segment_summary")
HISTORY = "customer_segments_history"  # grows by a date each night: published date by date
HISTORY_BUILDS = "intermediate.int_customer_segments"  # as_of_date -> the dbt build that wrote it (dbt_invocation_id)
PUBLISHED_DATES = "_published_dates"  # in the serving file: the history's dates and the builds published
# column names that would hold contact data or a person's name
PERSONAL_NAME = re.compile(r"e_?mail|phone|mobile|tax_id|contact|full_name|customer_name|account_name|person")
SCHEMA = "crmseg"
READER_ROLE = "crmseg_reader"
READER_DEFAULTS = {"search_path": SCHEMA, "default_transaction_read_only": "on"}
PARQUET_VERSIONS_KEPT = 2  # the current folder and the one before it, for readers still in it
# the link serving/crmseg.duckdb names one of these files; a publish brings the other one up to date and swings it
SERVING_FILES = ("crmseg-1.duckdb", "crmseg-2.duckdb")


@dataclass(frozen=True)
class HistoryChange:
    """The history's dates a publish writes (dbt rebuilt them since the last publish) and drops (no longer in the
    warehouse), on top of `previous_run`'s state; with `whole`, every date is written afresh."""

    previous_run: str | None
    whole: bool
    written: tuple[date, ...]
    dropped: tuple[date, ...]


@dataclass(frozen=True)
class Published:
    file: Path
    parquet: Path
    postgres: bool
    rows: dict[str, int]
    as_of_date: str
    seconds: float
    history_dates: int
    history_dates_written: int


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
    parquet_dir = serving_dir / f"parquet-{stamp}"
    current = serving_file(serving_dir)
    spare = spare_file(current)
    staged = serving_dir / f".crmseg-{stamp}.duckdb"
    try:
        previous = published_state(current)
        con, written = open_spare(spare, staged, current, previous, timezone)
        with con:
            rows, as_of, change = write_serving_file(con, warehouse, run_id, previous)
            history_dates = con.execute(f"SELECT count(*) FROM {PUBLISHED_DATES}").fetchone()[0]
            previous_run = previous.run_id if previous else None
            write_parquet(con, parquet_dir, change, previous_parquet(con, serving_dir / "parquet", previous_run))
        if postgres_url:
            publish_postgres(written, postgres_url, timezone, change)
    except BaseException:
        staged.unlink(missing_ok=True)
        shutil.rmtree(parquet_dir, ignore_errors=True)
        raise
    # everything is ready: the swaps are renames
    if written == staged:
        os.replace(staged, spare)
    swing_symlink(current, spare)
    swing_symlink(serving_dir / "parquet", parquet_dir)
    prune_parquet_versions(serving_dir, keep=parquet_dir)
    return Published(
        file=current,
        parquet=serving_dir / "parquet",
        postgres=bool(postgres_url),
        rows=rows,
        as_of_date=as_of,
        seconds=time.monotonic() - started,
        history_dates=history_dates,
        history_dates_written=len(change.written),
    )


def spare_file(current: Path) -> Path:
    """Of the two files the link `crmseg.duckdb` may name, the one it does not name now."""
    named = current.resolve().name if current.is_symlink() else None
    return current.with_name(SERVING_FILES[1] if named == SERVING_FILES[0] else SERVING_FILES[0])


def open_spare(
    spare: Path, staged: Path, current: Path, previous: PublishedState | None, timezone: str
) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A connection to the file this publish writes, and that file: the spare itself, brought up to date in place
    (it holds the state of two publishes ago: a night writes two dates of the history, not all of it), when it
    records that state and no reader holds it open any more; else a new file, a copy of the current one, which
    then replaces the spare."""
    if published_state(spare):
        try:
            return duck.connect(spare, timezone=timezone), spare
        # a reader that opened it before the last publish still holds it (another process's lock, or a connection
        # of this process)
        except (duckdb.IOException, duckdb.ConnectionException):
            pass
    if previous:  # the current file can be built on: the history's unchanged dates stay where they are
        shutil.copyfile(current, staged)
    return duck.connect(staged, timezone=timezone), staged


@dataclass(frozen=True)
class PublishedState:
    """What a serving file holds: the run that published it, its history's dates with the build that wrote each,
    and the history's columns."""

    run_id: str
    builds: dict[date, str | None]
    columns: list[tuple[str, str]]


def published_state(file: Path) -> PublishedState | None:
    """The state the serving file holds, if it can be built on (it records its history's dates)."""
    if not file.exists():
        return None
    try:
        with duckdb.connect(str(file), read_only=True) as con:
            builds = dict(con.execute(f"SELECT as_of_date, dbt_invocation_id FROM {PUBLISHED_DATES}").fetchall())
            run_id = con.execute("SELECT run_id FROM _published").fetchone()[0]
            return PublishedState(run_id, builds, columns(con, f"main.{HISTORY}"))
    except duckdb.Error:
        return None  # written before the dates were recorded, or not readable: the publish writes it whole


def write_serving_file(
    con: duckdb.DuckDBPyConnection, warehouse: Path, run_id: str, previous: PublishedState | None
) -> tuple[dict[str, int], str, HistoryChange]:
    """Every serving table into the file `con` holds (empty, or an earlier state), and `_published` saying which
    run and date it is, in one transaction; and how the history differs from `previous`, the state BI reads now."""
    con.execute(f"ATTACH {literal(str(warehouse))} AS warehouse (READ_ONLY)")
    try:
        check_no_personal_columns(con, "warehouse")
        con.execute("BEGIN TRANSACTION")
        try:
            for table, source in SERVING_TABLES.items():
                if table != HISTORY:
                    con.execute(f"CREATE OR REPLACE TABLE main.{quote(table)} AS SELECT * FROM warehouse.{source}")
            change = write_history(con, previous)
            rows = {t: con.execute(f"SELECT count(*) FROM {quote(t)}").fetchone()[0] for t in SERVING_TABLES}
            empty = [table for table in SEGMENT_TABLES if not rows[table]]
            if empty:
                raise CrmsegError(
                    f"publish: {', '.join(empty)} would be empty; the serving tables are left as they were"
                )
            as_of = str(con.execute("SELECT max(as_of_date) FROM customer_segments").fetchone()[0])
            con.execute(
                "CREATE OR REPLACE TABLE _published AS "
                "SELECT ? AS run_id, CAST(? AS DATE) AS as_of_date, current_timestamp AS published_at",
                [run_id, as_of],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute("DETACH warehouse")
    con.execute("CHECKPOINT")
    return rows, as_of, change


def write_history(con: duckdb.DuckDBPyConnection, previous: PublishedState | None) -> HistoryChange:
    """Bring the file's history to the warehouse's, writing only the dates whose build differs from the file's own
    (unless the columns changed); and say which dates differ from `previous`'s, for Parquet and PostgreSQL."""
    source = f"warehouse.{SERVING_TABLES[HISTORY]}"
    built = dict(
        con.execute(
            "SELECT as_of_date, min(dbt_invocation_id) AS dbt_invocation_id "
            f"FROM warehouse.{HISTORY_BUILDS} GROUP BY as_of_date"
        ).fetchall()
    )
    held = dict(con.execute(f"SELECT * FROM main.{PUBLISHED_DATES}").fetchall()) if has_dates(con) else None
    if held is not None and columns(con, f"main.{HISTORY}") == columns(con, source):
        written, dropped = differences(built, held)
        if written or dropped:
            con.execute(f"DELETE FROM main.{HISTORY} WHERE as_of_date IN {date_list(written + dropped)}")
        if written:
            con.execute(f"INSERT INTO main.{HISTORY} SELECT * FROM {source} WHERE as_of_date IN {date_list(written)}")
    else:
        con.execute(f"CREATE OR REPLACE TABLE main.{HISTORY} AS SELECT * FROM {source}")
    con.execute(f"CREATE OR REPLACE TABLE main.{PUBLISHED_DATES} (as_of_date DATE, dbt_invocation_id VARCHAR)")
    con.executemany(f"INSERT INTO main.{PUBLISHED_DATES} VALUES (?, ?)", sorted(built.items()))
    if previous is None or previous.columns != columns(con, source):
        return HistoryChange(previous and previous.run_id, whole=True, written=tuple(sorted(built)), dropped=())
    return HistoryChange(previous.run_id, False, *differences(built, previous.builds))


def differences(
    built: dict[date, str | None], held: dict[date, str | None]
) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """The dates built by another build than the one held (or not held), and the dates held but no longer built."""
    written = tuple(sorted(day for day, build in built.items() if day not in held or held[day] != build))
    return written, tuple(sorted(set(held) - set(built)))


def has_dates(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(columns(con, f"main.{PUBLISHED_DATES}"))


def columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """A relation's (name, type) in order; none when it does not exist."""
    try:
        return list(duck.column_types(con, relation).items())
    except duckdb.CatalogException:
        return []


def dates(con: duckdb.DuckDBPyConnection, query: str) -> tuple[date, ...]:
    return tuple(day for (day,) in con.execute(f"SELECT * FROM ({query}) ORDER BY 1").fetchall())


def date_list(days: tuple[date, ...]) -> str:
    return "(" + ", ".join(f"DATE '{day.isoformat()}'" for day in days) + ")"


def previous_parquet(con: duckdb.DuckDBPyConnection, link: Path, previous_run: str | None) -> Path | None:
    """The Parquet folder BI reads now, if it holds `previous_run`'s state (its unchanged dates can be linked)."""
    folder = link.resolve() if link.is_symlink() else None
    if not (previous_run and folder and (folder / HISTORY).is_dir()):
        return None
    try:
        run = con.execute(f"SELECT run_id FROM {literal(str(folder / '_published.parquet'))}").fetchone()[0]
    except duckdb.Error:
        return None
    return folder if run == previous_run else None


def write_parquet(con: duckdb.DuckDBPyConnection, folder: Path, change: HistoryChange, previous: Path | None) -> None:
    """A new folder: each table in a file, the history in a folder of one file per date. The history's unchanged
    dates are hard links to the files of the folder before, which stay as they are for readers still in it."""
    folder.mkdir()
    for table in (*SERVING_TABLES, "_published"):
        if table != HISTORY:
            con.execute(f"COPY {quote(table)} TO {literal(str(folder / f'{table}.parquet'))} (FORMAT parquet)")
    history = folder / HISTORY
    history.mkdir()
    written = set(change.written)
    if previous is None or change.whole:
        written = set(dates(con, f"SELECT as_of_date FROM {PUBLISHED_DATES}"))
    else:
        for file in (previous / HISTORY).glob("*.parquet"):
            if date.fromisoformat(file.name[:10]) not in written | set(change.dropped):
                os.link(file, history / file.name)
    if not written:
        return
    partitions = folder / ".partitions"
    con.execute(
        f"COPY (SELECT * FROM {HISTORY} WHERE as_of_date IN {date_list(tuple(sorted(written)))}) "
        f"TO {literal(str(partitions))} (FORMAT parquet, PARTITION_BY (as_of_date), WRITE_PARTITION_COLUMNS true)"
    )
    for day in written:  # as_of_date=<date>/data_<n>.parquet -> <date>.parquet (<date>-<n>.parquet if more)
        for n, file in enumerate(sorted((partitions / f"as_of_date={day}").glob("*.parquet"))):
            file.rename(history / (f"{day}.parquet" if n == 0 else f"{day}-{n}.parquet"))
    shutil.rmtree(partitions)


def swing_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` in one rename: a reader finds the old file or folder or the new one, never neither.
    (A serving file published before the link was one is replaced by the link the same way.)"""
    if link.is_dir() and not link.is_symlink():
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
    "JSON": "jsonb",
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


def publish_postgres(serving_file_path: Path, url: str, timezone: str, change: HistoryChange) -> None:
    """Replace every table in schema crmseg in one transaction; readers see the old tables until it commits.

    The history gets only its changed dates when PostgreSQL holds the state the change builds on. The rows travel
    as CSV through COPY, the fastest way in. `crmseg_reader` may read the schema, not write it.
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
            in_step = not change.whole and pg_published_run(pg) == change.previous_run
            for table in (*SERVING_TABLES, "_published"):
                kept = prepare_pg_table(pg, table, columns(con, quote(table)))
                rows = quote(table)
                if table == HISTORY and kept and in_step:
                    replaced = change.written + change.dropped
                    if replaced:
                        pg.execute(f'DELETE FROM {SCHEMA}."{table}" WHERE as_of_date = ANY(%s)', [list(replaced)])
                    if not change.written:
                        continue
                    rows = f"(SELECT * FROM {quote(table)} WHERE as_of_date IN {date_list(change.written)})"
                elif kept:
                    pg.execute(f'DELETE FROM {SCHEMA}."{table}"')
                csv = csv_dir / f"{table}.csv"
                con.execute(f"COPY {rows} TO {literal(str(csv))} (FORMAT csv, HEADER false, NULLSTR '\\N')")
                copy_into_pg(pg, table, csv)
            pg.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {READER_ROLE}")
            pg.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {READER_ROLE}")
    except psycopg.Error as exc:
        raise CrmsegError(f"publish: PostgreSQL: {str(exc).splitlines()[0]}") from None
    finally:
        pg.close()
        shutil.rmtree(csv_dir, ignore_errors=True)


def ensure_reader_role(pg) -> None:
    """`crmseg_reader`: logs in, finds the tables without a schema name, and is read-only by default (the grants
    are what keep it from writing; the default makes an attempt fail early, as read-only). A role and defaults that
    are there already are left alone, so a publisher that may not create or alter roles works once they are."""
    if not pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE]).fetchone():
        once_on_the_server(pg, f"CREATE ROLE {READER_ROLE} LOGIN")
    settings = pg.execute(
        """SELECT setting.setconfig FROM pg_db_role_setting AS setting JOIN pg_roles AS r ON r.oid = setting.setrole
           WHERE r.rolname = %s AND setting.setdatabase = 0""",
        [READER_ROLE],
    ).fetchone()
    for name, value in READER_DEFAULTS.items():
        if f"{name}={value}" not in (settings[0] if settings else []):
            once_on_the_server(pg, f"ALTER ROLE {READER_ROLE} SET {name} = {value}")


def once_on_the_server(pg, statement: str) -> None:
    """Roles belong to the server, and publishes to two of its databases may change one at the same moment: the
    error of the one that comes second (the role or its setting just written, "tuple concurrently updated") means
    that the other did the same, and is let pass."""
    pg.execute(
        f"DO $$ BEGIN {statement}; "
        "EXCEPTION WHEN duplicate_object OR unique_violation OR internal_error THEN NULL; END $$"
    )


def pg_published_run(pg) -> str | None:
    if pg.execute(f"SELECT to_regclass('{SCHEMA}._published')").fetchone()[0] is None:
        return None
    row = pg.execute(f"SELECT run_id FROM {SCHEMA}._published").fetchone()
    return row[0] if row else None


def prepare_pg_table(pg, table: str, columns: list[tuple[str, str]]) -> bool:
    """Keep the table when its columns are these (True), else create it afresh, inside the caller's transaction.

    Rows are then replaced with DELETE and COPY, not DROP and CREATE: they take no lock a reader waits on, so a
    reader (whatever tables it reads, in whatever order) sees the old rows until the commit, then the new ones.
    """
    name = f'{SCHEMA}."{table}"'
    wanted = [(column, pg_type(type_)) for column, type_ in columns]
    existing = pg.execute(
        """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
           WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum""",
        [name],
    ).fetchall()
    if existing == wanted:
        return True
    pg.execute(f"DROP TABLE IF EXISTS {name}")
    pg.execute(f"CREATE TABLE {name} ({', '.join(f'{quote(c)} {t}' for c, t in wanted)})")
    return False


def copy_into_pg(pg, table: str, csv: Path) -> None:
    with (
        pg.cursor().copy(f"""COPY {SCHEMA}."{table}" FROM STDIN (FORMAT csv, NULL '\\N')""") as copy,
        csv.open("rb") as rows,
    ):
        while chunk := rows.read(1 << 20):
            copy.write(chunk)
