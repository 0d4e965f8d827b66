"""Where a source's tables live, read through DuckDB.

A source is a SQLAlchemy URL (SQLite, PostgreSQL, MySQL/MariaDB) or a
directory holding one file per table (`<table>.csv`, `.parquet`, `.jsonl`),
or a folder of such files per table. DuckDB's scanners do the transfer in
bulk (PostgreSQL's binary COPY, MySQL's streaming protocol, SQLite's pages),
so no row passes through a Python loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from crmseg.duck import literal, quote
from crmseg.errors import SourceError

BULK_BATCH_ROWS = 100_000
FILE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}
DATABASE_KINDS = {
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}
# the types DuckDB's SQLite scanner reads a column as, by the type the column declares, with which a table may be
# read typed (SourceLocation.reads_typed): numbers and text as they are, moments only where SQLite holds every value
# as plain text (GLOB: a date; a date and time, then nothing or a fraction of a second)
SQLITE_EXACT_TYPES = {"BIGINT", "DOUBLE", "VARCHAR"}
_DAY, _TIME = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]", "[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
SQLITE_PLAIN_MOMENTS = {"DATE": (_DAY, None), "TIMESTAMP": (f"{_DAY}[ T]{_TIME}", f"{_DAY}[ T]{_TIME}.")}
# the same forms as regular expressions, for DuckDB
PLAIN_MOMENT_REGEX = {"DATE": r"\d{4}-\d{2}-\d{2}", "TIMESTAMP": r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?"}


@dataclass(frozen=True)
class SourceLocation:
    source: str  # crm | erp | service
    location: str  # as configured: a SQLAlchemy URL or a directory
    kind: str  # sqlite | postgres | mysql | files

    @classmethod
    def parse(cls, source: str, location: str) -> SourceLocation:
        if "://" not in location:
            return cls(source, str(Path(location).expanduser()), "files")
        try:
            url = make_url(location)
        except ArgumentError as exc:
            raise SourceError(source, None, f"not a SQLAlchemy URL: {exc}") from None
        dialect = url.get_backend_name()
        if dialect not in DATABASE_KINDS:
            raise SourceError(
                source,
                None,
                f"unsupported URL scheme {url.drivername!r}: use sqlite, postgresql, "
                "mysql or mariadb, or a directory of files",
            )
        return cls(source, location, DATABASE_KINDS[dialect])

    @property
    def catalog(self) -> str:
        return f"src_{self.source}"

    def describe(self) -> str:
        """The location with any password hidden, for logs and metadata."""
        if self.kind == "files":
            return str(Path(self.location).resolve())
        return make_url(self.location).render_as_string(hide_password=True)

    # -- connecting -----------------------------------------------------------------

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Attach a database source read-only as catalog src_<source>."""
        if self.kind == "files":
            if not Path(self.location).is_dir():
                raise SourceError(self.source, None, f"directory {self.describe()} does not exist")
            return
        if self.kind == "sqlite":
            path = make_url(self.location).database or ""
            if not Path(path).is_file():
                raise SourceError(self.source, None, f"SQLite file {path} does not exist")
            target, options = path, "TYPE sqlite, READ_ONLY"
            # SQLite columns hold any type; read them as text so that a stray
            # value fails the type check with its column, not the scan (except
            # where reads_typed finds that every value reads as its type).
            con.execute("SET sqlite_all_varchar = true")
        else:
            target = _libpq_or_mysql_dsn(self.kind, make_url(self.location))
            options = f"TYPE {self.kind}, READ_ONLY"
        try:
            con.execute(f"ATTACH {literal(target)} AS {quote(self.catalog)} ({options})")
        except duckdb.Error as exc:
            # a database server that does not answer may answer soon; a file that cannot be read will not
            transient = self.kind != "sqlite"
            raise SourceError(
                self.source, None, f"cannot reach {self.describe()}: {exc}", transient=transient
            ) from None

    def reads_typed(self, con: duckdb.DuckDBPyConnection, table: str, relation: str, columns: list[str]) -> bool:
        """Whether these columns of a SQLite table can be read as the types they declare, every value as exactly
        what its text reads as (at 1M customers the order lines land in 25 s typed against 47 s as text).

        DuckDB's SQLite scanner fails the read on a value that does not fit its column's type, but reads a moment
        it can parse, dropping any offset or zone, and a number in a moment's column as days or seconds since 1970:
        so a table is read typed only where SQLite holds every moment as plain text (YYYY-MM-DD, with hh:mm:ss and
        any fraction of a second for a timestamp), and never with another type.
        """
        if self.kind != "sqlite":
            return False
        with self.typed_reads(con):
            types = [typed for name, typed in self.columns(con, table, relation).items() if name in columns]
        if not all(t in SQLITE_EXACT_TYPES or t in SQLITE_PLAIN_MOMENTS for _, t in types):
            return False
        ident = self.native_identifier
        not_plain = []
        for actual, type_ in types:
            if type_ in SQLITE_PLAIN_MOMENTS:
                column, (whole, before_fraction) = ident(actual), SQLITE_PLAIN_MOMENTS[type_]
                plain = f"{column} GLOB {literal(whole)}"
                if before_fraction:
                    fraction = f"{column} GLOB {literal(before_fraction + '[0-9]*')}"
                    plain += f" OR ({fraction} AND NOT {column} GLOB {literal(before_fraction + '*[^0-9]*')})"
                not_plain.append(f"NOT ({column} IS NULL OR (typeof({column}) = 'text' AND ({plain})))")
        if not not_plain:
            return True
        _, native_name = self.find_table(con, table)
        found = self.native_query(f"SELECT 1 FROM {ident(native_name)} WHERE {' OR '.join(not_plain)} LIMIT 1")
        return not con.execute(f"SELECT * FROM {found}").fetchall()

    @contextmanager
    def typed_reads(self, con: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """SQLite's columns read as the types they declare rather than as text, within the block."""
        con.execute("SET sqlite_all_varchar = false")
        try:
            yield
        finally:
            con.execute("SET sqlite_all_varchar = true")

    def detach(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.kind != "files":
            con.execute(f"DETACH DATABASE IF EXISTS {quote(self.catalog)}")

    # -- tables ---------------------------------------------------------------------

    def relation(self, con: duckdb.DuckDBPyConnection, table: str) -> str | None:
        """SQL for the table as a relation, or None for an empty file or folder."""
        if self.kind == "files":
            return self._file_relation(con, table)
        return ".".join(quote(p) for p in (self.catalog, *self.find_table(con, table)))

    def find_table(self, con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, str]:
        """(schema, table) of an attached database's table."""
        # A MySQL server shows every database it holds as a schema: only the URL's own counts.
        schema = make_url(self.location).database if self.kind == "mysql" else None
        row = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = ? AND lower(table_name) = ? AND schema_name = coalesce(?, schema_name) "
            "ORDER BY schema_name = 'public' DESC, schema_name = 'main' DESC LIMIT 1",
            [self.catalog, table, schema],
        ).fetchone()
        if row is None:
            raise SourceError(self.source, table, f"table not found in {self.describe()}")
        return row

    def native_query(self, sql: str) -> str | None:
        """A relation that runs `sql` inside the source database, where DuckDB can."""
        function = {"postgres": "postgres_query", "mysql": "mysql_query", "sqlite": "sqlite_query"}.get(self.kind)
        return f"{function}({literal(self.catalog)}, {literal(sql)})" if function else None

    def native_identifier(self, name: str) -> str:
        if self.kind == "mysql":
            return "`" + name.replace("`", "``") + "`"
        return quote(name)

    def bulk_relation(self, con: duckdb.DuckDBPyConnection, table: str, relation: str) -> str:
        """The relation to read a whole table from, by the fastest path there is.

        DuckDB's MySQL scanner converts row by row at about a third of the
        rate the MariaDB client exports; connectorx streams the same rows as
        Arrow batches at twice the scanner's rate, in bounded memory. Other
        kinds read best as they are.
        """
        if self.kind != "mysql":
            return relation
        import connectorx

        schema, name = self.find_table(con, table)
        url = make_url(self.location).set(drivername="mysql", database=schema)
        try:
            batches = connectorx.read_sql(
                url.render_as_string(hide_password=False),
                f"SELECT * FROM {self.native_identifier(name)}",
                return_type="arrow_stream",
                batch_size=BULK_BATCH_ROWS,
            )
        except Exception as exc:  # connectorx raises its own untyped errors
            raise SourceError(self.source, table, f"cannot read: {exc}") from None
        view = f"_bulk_{self.source}_{table}"
        con.register(view, batches)
        return view

    def columns(self, con: duckdb.DuckDBPyConnection, table: str, relation: str) -> dict[str, tuple[str, str]]:
        """lower-case name -> (name as the source spells it, DuckDB type)."""
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        except duckdb.Error as exc:
            raise SourceError(self.source, table, f"cannot read: {exc}") from None
        return {name.lower(): (name, type_) for name, type_, *_ in described}

    def _file_relation(self, con: duckdb.DuckDBPyConnection, table: str) -> str | None:
        base = Path(self.location)
        candidates = [base / f"{table}{suffix}" for suffix in FILE_FORMATS]
        found = [p for p in candidates if p.is_file()]
        folder = base / table
        if folder.is_dir():
            found.append(folder)
        if not found:
            names = ", ".join(f"{table}{s}" for s in FILE_FORMATS)
            raise SourceError(self.source, table, f"no {names} or folder {table}/ in {self.describe()}")
        if len(found) > 1:
            raise SourceError(self.source, table, f"more than one file for the table: {_names(found)}")
        path = found[0]
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            formats = {FILE_FORMATS.get(p.suffix) for p in files}
            if None in formats or len(formats) > 1:
                raise SourceError(
                    self.source, table, f"folder {path} must hold only .csv, only .parquet or only .jsonl files"
                )
        else:
            files = [path]
        files = [p for p in files if p.stat().st_size > 0]
        if not files:
            return None
        fmt = FILE_FORMATS[files[0].suffix]
        file_list = "[" + ", ".join(literal(str(p.resolve())) for p in files) + "]"
        if fmt == "csv":
            return f"read_csv({file_list}, header = true, all_varchar = true, union_by_name = true)"
        if fmt == "parquet":
            return f"read_parquet({file_list}, union_by_name = true)"
        return self._json_relation(con, table, file_list)

    def _json_relation(self, con: duckdb.DuckDBPyConnection, table: str, file_list: str) -> str:
        """JSON Lines read as text, like CSV.

        DuckDB would otherwise turn '2024-05-30T09:50:16+08:00' into a UTC
        timestamp without its zone, and local-time semantics would be lost.
        """
        detect = f"read_json({file_list}, format = 'newline_delimited', union_by_name = true, maximum_depth = 1)"
        try:
            keys = [name for name, *_ in con.execute(f"DESCRIBE SELECT * FROM {detect}").fetchall()]
        except duckdb.Error as exc:
            raise SourceError(self.source, table, f"cannot read: {exc}") from None
        columns = "{" + ", ".join(f"{literal(k)}: 'VARCHAR'" for k in keys) + "}"
        return f"read_json({file_list}, format = 'newline_delimited', columns = {columns})"


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths)


def _libpq_or_mysql_dsn(kind: str, url: URL) -> str:
    """The connection string DuckDB's postgres or mysql extension expects."""
    parts = {"host": url.host or "localhost", "port": url.port, "user": url.username, "password": url.password}
    if kind == "postgres":
        parts["dbname"] = url.database
        # libpq options such as sslmode pass through unchanged
        parts.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    else:
        parts["passwd"] = parts.pop("password")
        parts["database"] = url.database
    return " ".join(f"{k}={_dsn_value(v)}" for k, v in parts.items() if v not in (None, ""))


def _dsn_value(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in " '\\"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
