"""Where the generator writes: SQLite, PostgreSQL, MySQL/MariaDB, folders of Parquet files or JSON Lines.

Tables are created from the contract with SQLAlchemy, in each dialect's own
types, and filled in bulk: DuckDB's scanners write SQLite and PostgreSQL
(binary COPY); MySQL/MariaDB takes `LOAD DATA LOCAL INFILE`, several times
faster than row inserts. A directory instead of a URL gets a folder of
Parquet files per table, a file per chunk of customers, a seventh of SQLite's
size: the sources of ten million customers fit on one disk.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from crmseg import contract
from crmseg.duck import literal, quote
from crmseg.sources import _libpq_or_mysql_dsn

_SA_TYPES = {
    contract.TEXT: lambda: sa.String(255),
    contract.INTEGER: sa.BigInteger,
    contract.DECIMAL: lambda: sa.Numeric(18, 2),
    contract.BOOLEAN: sa.Boolean,
    contract.DATE: sa.Date,
    contract.TIMESTAMP: sa.DateTime,
}
# the Parquet types of the contract's types: moments as the source systems keep them, in local time
PARQUET_TYPES = {**contract.DUCKDB_TYPES, contract.TIMESTAMP: "TIMESTAMP"}


def engine_url(location: str) -> URL:
    """The URL with the drivers this project installs (psycopg 3, PyMySQL)."""
    url = make_url(location)
    backend = url.get_backend_name()
    if backend == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    elif backend in ("mysql", "mariadb") and "+" not in url.drivername:
        url = url.set(drivername=f"{backend}+pymysql")
    return url


def metadata_for(source: str) -> sa.MetaData:
    """The source's tables; a child table has an index on its parent's key, as an ERP's order lines have."""
    metadata = sa.MetaData()
    for table in contract.tables_of(source):
        indexes = [sa.Index(f"ix_{table.name}_{table.parent[1]}", table.parent[1])] if table.parent else []
        sa.Table(table.name, metadata, *(sa.Column(c.name, _SA_TYPES[c.type]()) for c in table.columns), *indexes)
    return metadata


class DatabaseSink:
    """One source's tables in a database, replaced on `prepare`."""

    def __init__(self, source: str, location: str):
        self.source = source
        self.url = engine_url(location)
        self.backend = self.url.get_backend_name()
        self.catalog = f"out_{source}"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        metadata = metadata_for(self.source)
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as connection:
                metadata.drop_all(connection)
                metadata.create_all(connection)
        finally:
            engine.dispose()
        if self.backend == "sqlite":
            con.execute(f"ATTACH {literal(self.url.database)} AS {self.catalog} (TYPE sqlite)")
        elif self.backend == "postgresql":
            con.execute(
                f"ATTACH {literal(_libpq_or_mysql_dsn('postgres', self.url))} AS {self.catalog} (TYPE postgres)"
            )

    def append(self, con: duckdb.DuckDBPyConnection, table: contract.Table, rendered: str) -> None:
        columns = ", ".join(table.column_names)
        if self.backend in ("mysql", "mariadb"):
            self._load_data(con, table, rendered)
            return
        schema = "public" if self.backend == "postgresql" else "main"
        con.execute(
            f"INSERT INTO {self.catalog}.{schema}.{table.name} ({columns}) "
            f"SELECT {columns} FROM {rendered} ORDER BY _row"
        )

    def _load_data(self, con: duckdb.DuckDBPyConnection, table: contract.Table, rendered: str) -> None:
        # PyMySQL sends the file itself; booleans go as 1/0, which MySQL reads
        select = ", ".join(
            f"CAST({quote(c.name)} AS INTEGER)" if c.type == contract.BOOLEAN else quote(c.name) for c in table.columns
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{table.name}.csv"
            con.execute(
                f"COPY (SELECT {select} FROM {rendered} ORDER BY _row) TO {literal(str(path))} "
                "(FORMAT csv, HEADER false, NULLSTR 'NULL', FORCE_QUOTE *, QUOTE '\"', ESCAPE '\"')"
            )
            engine = sa.create_engine(self.url, connect_args={"local_infile": True})
            try:
                with engine.begin() as connection:
                    connection.exec_driver_sql(
                        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{table.name}` CHARACTER SET utf8mb4 "
                        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
                        f"LINES TERMINATED BY '\\n' ({', '.join(table.column_names)})"
                    )
            finally:
                engine.dispose()

    def finish(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.backend in ("sqlite", "postgresql"):
            con.execute(f"DETACH {self.catalog}")


class ParquetSink:
    """One source's tables as a directory location reads them: a folder per table (`<table>/part-00000.parquet`,
    a file per chunk of customers), replaced on `prepare`."""

    def __init__(self, source: str, folder: Path):
        self.source, self.folder = source, Path(folder)
        self.parts: dict[str, int] = {}

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        for table in contract.tables_of(self.source):
            shutil.rmtree(self.folder / table.name, ignore_errors=True)
            for suffix in (".csv", ".parquet", ".jsonl"):  # a file of the table's beside the folder would be read too
                (self.folder / f"{table.name}{suffix}").unlink(missing_ok=True)
            (self.folder / table.name).mkdir(parents=True)
            self.parts[table.name] = 0

    def append(self, con: duckdb.DuckDBPyConnection, table: contract.Table, rendered: str) -> None:
        columns = ", ".join(
            f"CAST({quote(c.name)} AS {PARQUET_TYPES[c.type]}) AS {quote(c.name)}" for c in table.columns
        )
        path = self.folder / table.name / f"part-{self.parts[table.name]:05d}.parquet"
        con.execute(
            f"COPY (SELECT {columns} FROM {rendered} ORDER BY _row) TO {literal(str(path))} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        self.parts[table.name] += 1

    def finish(self, con: duckdb.DuckDBPyConnection) -> None:
        pass


class JsonLinesSink:
    """One `<table>.jsonl` per table in a folder, as a ticket system exports them."""

    def __init__(self, source: str, folder: Path):
        self.source, self.folder = source, folder

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for table in contract.tables_of(self.source):
            (self.folder / f"{table.name}.jsonl").unlink(missing_ok=True)
            con.execute(f"DROP TABLE IF EXISTS out_{self.source}_{table.name}")

    def append(self, con: duckdb.DuckDBPyConnection, table: contract.Table, rendered: str) -> None:
        target = f"out_{self.source}_{table.name}"
        columns = ", ".join(table.column_names)
        con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT {columns} FROM {rendered} WHERE false")
        con.execute(f"INSERT INTO {target} SELECT {columns} FROM {rendered} ORDER BY _row")

    def finish(self, con: duckdb.DuckDBPyConnection) -> None:
        for table in contract.tables_of(self.source):
            target = f"out_{self.source}_{table.name}"
            path = self.folder / f"{table.name}.jsonl"
            con.execute(f"COPY {target} TO {literal(str(path))} (FORMAT json)")
            con.execute(f"DROP TABLE {target}")


def sink_for(source: str, location: str | None, out: Path):
    """A database URL or a directory if given; else the demo's SQLite file or JSON Lines folder."""
    if location:
        return DatabaseSink(source, location) if "://" in location else ParquetSink(source, Path(location))
    if source == "service":
        return JsonLinesSink(source, out / "service")
    return DatabaseSink(source, f"sqlite:///{(out / f'{source}.sqlite').resolve()}")
