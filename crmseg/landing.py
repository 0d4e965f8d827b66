"""Land one source table in the warehouse: full or incremental, all or nothing.

The raw table `raw_<source>.<table>` holds the contract's columns as the
source holds them (types included), plus `_load_id` and `_loaded_at`. The
first load, and any full refresh, replaces it; later loads take the rows whose
incremental column passed the stored high-water mark (less an overlap) and
upsert them by key. Every load runs in one DuckDB transaction: a failure at
any point leaves the previous raw table and its state as they were. A
`validate` callback judges the load inside that transaction; a check of error
severity that fails rolls the load back (QualityGateFailed), so a bad extract
never becomes what the models read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from crmseg import duck
from crmseg.contract import DATE, DUCKDB_TYPES, TEXT, TIMESTAMP, Table
from crmseg.contract import table as contract_table
from crmseg.duck import literal, quote
from crmseg.errors import SourceError
from crmseg.quality import CheckOutcome, QualityGateFailed
from crmseg.sources import PLAIN_MOMENT_REGEX, SourceLocation


class _TypedReadFailed(Exception):
    """A SQLite value did not fit its column's declared type: the table is read as text instead."""


# (connection, contract table, raw table, load id, whether the load replaced the table, the relation holding the
# load's rows: the raw table, or an incremental load's batch) -> outcomes
Validator = Callable[[duckdb.DuckDBPyConnection, Table, str, str, bool, str], list[CheckOutcome]]

META_SCHEMA = "_crmseg"
DEFAULT_OVERLAP = timedelta(hours=1)
# the columns a SQLite query for the children of changed parents adds: the child's rowid, the parent row's
# incremental column
_CHILD_ROW, _PARENT_CHANGED = "_crmseg_child_row", "_crmseg_parent_changed"


@dataclass(frozen=True)
class LandingResult:
    table: str
    raw_table: str
    mode: str  # full | incremental
    rows_extracted: int
    rows_in_raw: int
    high_water_mark: datetime | None
    load_id: str
    location: str
    missing_optional_columns: tuple[str, ...]
    seconds: float
    checks: tuple[CheckOutcome, ...] = ()
    # rows read again exactly as the raw table holds them: they keep the load that brought them (_unchanged_keys)
    rows_unchanged: int = 0


def raw_table_name(table: Table) -> str:
    return f"raw_{table.source}.{table.name}"


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {META_SCHEMA}.extract_state (
            source_table VARCHAR PRIMARY KEY,
            high_water_mark TIMESTAMPTZ,
            last_load_id VARCHAR,
            last_mode VARCHAR,
            rows_in_raw BIGINT,
            landed_at TIMESTAMPTZ)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {META_SCHEMA}.loads (
            load_id VARCHAR,
            source_table VARCHAR,
            location VARCHAR,
            mode VARCHAR,
            started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            rows_extracted BIGINT,
            rows_in_raw BIGINT,
            high_water_mark TIMESTAMPTZ)"""
    )


def land_table(
    warehouse: str | Path,
    location: SourceLocation,
    table: Table,
    *,
    load_id: str,
    timezone: str,
    full_refresh: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    validate: Validator | None = None,
) -> LandingResult:
    started = time.monotonic()
    with duck.connect(warehouse, timezone=timezone) as con:
        ensure_meta(con)
        try:
            location.attach(con)
        except SourceError as exc:
            raise exc.for_table(table.name) from None
        try:
            return _Landing(con, location, table, load_id, overlap, full_refresh, validate).run(started)
        finally:
            location.detach(con)


def same_key(key: tuple[str, ...], left: str, right: str) -> str:
    """Rows of two relations with the same key: the SQL condition."""
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in key)


class _Landing:
    def __init__(self, con, location: SourceLocation, table: Table, load_id, overlap, full_refresh, validate):
        self.con, self.location, self.table = con, location, table
        self.load_id, self.overlap, self.validate = load_id, overlap, validate
        self.raw = raw_table_name(table)
        recorded = self._recorded_mark(table.qualified)
        raw_exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [f"raw_{table.source}", table.name],
        ).fetchone()[0]
        incremental_capable = bool(table.incremental_column or table.parent)
        self.previous_mark = recorded if raw_exists else None
        self.mode = "incremental" if (incremental_capable and self.previous_mark and not full_refresh) else "full"

    def _recorded_mark(self, qualified: str) -> datetime | None:
        """The high-water mark the last load of this source table recorded, if any."""
        row = self.con.execute(
            f"SELECT high_water_mark FROM {META_SCHEMA}.extract_state WHERE source_table = ?", [qualified]
        ).fetchone()
        return row[0] if row else None

    def run(self, started: float) -> LandingResult:
        con, table = self.con, self.table
        relation = self.location.relation(con, table.name)
        columns = self.location.columns(con, table.name, relation) if relation else {}
        missing_required = [c for c in table.required if c not in columns]
        if relation and missing_required:
            raise SourceError(table.source, table.name, "required column is missing", column=missing_required[0])
        missing_optional = tuple(c for c in table.column_names if c not in columns)
        new_mark = self._parent_mark() if table.parent else None
        select = f"SELECT {self._select_list(columns)}"
        if not relation:
            source_sql = f"{select} WHERE false"
        elif self.mode == "full":
            source_sql = f"{select} FROM {self.location.bulk_relation(con, table.name, relation)}"
        elif table.parent:
            source_sql = f"{select} FROM {self._children_of_changed_parents(relation)}"
        else:
            narrowed = self._narrowed(table.name, columns) or relation
            source_sql = f"{select} FROM {narrowed} WHERE {self._changed_since_mark(columns)}"

        # a SQLite table landed whole is read as the types its columns declare where every value reads as its text
        # does, else (or when a value does not fit its column's type after all) as text
        read_columns = [c for c in table.column_names if c in columns]
        if self.mode == "full" and relation and self.location.reads_typed(con, table.name, relation, read_columns):
            try:
                with self.location.typed_reads(con):
                    landed = self._write(source_sql, columns, new_mark, started, typed=True)
            except _TypedReadFailed:
                landed = self._write(source_sql, columns, new_mark, started)
        else:
            landed = self._write(source_sql, columns, new_mark, started)
        rows_extracted, rows_unchanged, rows_in_raw, new_mark, checks = landed
        return LandingResult(
            table=table.qualified,
            raw_table=self.raw,
            mode=self.mode,
            rows_extracted=rows_extracted,
            rows_in_raw=rows_in_raw,
            high_water_mark=new_mark,
            load_id=self.load_id,
            location=self.location.describe(),
            missing_optional_columns=missing_optional,
            seconds=time.monotonic() - started,
            checks=tuple(checks),
            rows_unchanged=rows_unchanged,
        )

    def _write(self, source_sql: str, columns: dict, new_mark, started: float, typed: bool = False) -> tuple:
        """The load in one transaction: (rows extracted, of them unchanged, rows in the raw table, the new mark, the
        checks' outcomes).
        A typed read that fails raises _TypedReadFailed, the transaction rolled back."""
        con, table = self.con, self.table
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS raw_{table.source}")
            target = self.raw if self.mode == "full" else "_batch"
            create = "CREATE OR REPLACE TABLE" if self.mode == "full" else "CREATE OR REPLACE TEMP TABLE"
            try:
                con.execute(f"{create} {target} AS {source_sql}")
            except duckdb.Error as exc:
                if typed:
                    raise _TypedReadFailed from None
                raise SourceError(table.source, table.name, f"cannot read: {exc}") from None
            if self.mode == "incremental":
                self._conform_batch()
            self._check_types(target, columns)
            rows_extracted = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            rows_unchanged = self._upsert() if self.mode == "incremental" else 0
            if not table.parent:
                new_mark = self._incremental_mark(target)
            rows_in_raw = con.execute(f"SELECT count(*) FROM {self.raw}").fetchone()[0]
            # judged before the state is recorded: the checks compare with the previous load; they judge every row
            # the load read (the target), those left as landed before too
            checks = (
                self.validate(con, table, self.raw, self.load_id, self.mode == "full", target) if self.validate else []
            )
            if any(check.blocks for check in checks):
                raise QualityGateFailed(checks)
            self._record_state(new_mark, rows_in_raw, rows_extracted, started)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return rows_extracted, rows_unchanged, rows_in_raw, new_mark, checks

    # -- building the read ------------------------------------------------------------

    def _select_list(self, columns: dict[str, tuple[str, str]]) -> str:
        items = []
        for column in self.table.columns:
            if column.name not in columns:
                items.append(f"CAST(NULL AS {DUCKDB_TYPES[column.type]}) AS {column.name}")
                continue
            actual, type_ = columns[column.name]
            expression = quote(actual)
            if type_ == "JSON" or type_.startswith(("STRUCT", "MAP")) or type_.endswith("]"):
                expression = f"CAST({expression} AS VARCHAR)"
            items.append(f"{expression} AS {column.name}")
        items.append(f"{literal(self.load_id)} AS _load_id")
        items.append("current_timestamp AS _loaded_at")
        return ", ".join(items)

    def _local(self, moment: datetime) -> datetime:
        """The moment as a naive local timestamp in the session time zone."""
        return self.con.execute("SELECT CAST(CAST(? AS TIMESTAMPTZ) AS TIMESTAMP)", [moment]).fetchone()[0]

    def _after_mark(self, name: str, columns: dict[str, tuple[str, str]]) -> str:
        """Rows whose column is at or past the mark less the overlap.

        The literal takes the column's own type so that the scanner pushes the
        filter down into the source database.
        """
        if name not in columns:
            return "false"
        actual, type_ = columns[name]
        threshold = self.previous_mark - self.overlap
        if type_ == "TIMESTAMP WITH TIME ZONE":
            return f"{quote(actual)} >= TIMESTAMPTZ {literal(threshold.isoformat())}"
        if type_ == "TIMESTAMP":
            return f"{quote(actual)} >= TIMESTAMP {literal(self._local(threshold).isoformat(sep=' '))}"
        if type_ == "DATE":
            return f"{quote(actual)} >= DATE {literal(self._local(threshold).date().isoformat())}"
        return f"TRY_CAST({quote(actual)} AS TIMESTAMPTZ) >= TIMESTAMPTZ {literal(threshold.isoformat())}"

    def _changed_since_mark(
        self, columns: dict[str, tuple[str, str]], table: Table | None = None, after: Callable | None = None
    ) -> str:
        """The table's rows changed since the mark (its incremental column, or the fallback where that is null);
        after(column, columns): the condition on one column, by default _after_mark's."""
        table, after = table or self.table, after or self._after_mark
        condition = after(table.incremental_column, columns)
        if table.incremental_fallback:
            column = quote(columns[table.incremental_column][0]) if table.incremental_column in columns else "NULL"
            condition = f"({condition} OR ({column} IS NULL AND {after(table.incremental_fallback, columns)}))"
        return condition

    def _narrowed(self, name: str, columns: dict[str, tuple[str, str]], child: Table | None = None) -> str | None:
        """For SQLite, whose scanner reads every row of every column it is asked for: a relation SQLite itself
        narrows to the rows that may have changed since the mark (or the children of such rows), so that few
        rows cross into DuckDB, where the exact condition is applied. None elsewhere.

        A moment written as text from `YYYY-MM-DD` on is compared as text with the mark's date less two days
        (an offset moves a moment's date by less); anything else (another format, a number) may have changed.
        """
        if self.location.kind != "sqlite":
            return None
        ident = self.location.native_identifier
        threshold = (self._local(self.previous_mark - self.overlap) - timedelta(days=2)).date().isoformat()

        def maybe_after(column: str, columns: dict[str, tuple[str, str]]) -> str:
            if column not in columns:
                return "0"
            actual = ident(columns[column][0])
            iso_date = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
            return f"({actual} >= {literal(threshold)} OR NOT ({actual} GLOB '{iso_date}'))"

        table = contract_table(f"{self.table.source}.{name}")
        condition = self._changed_since_mark(columns, table, maybe_after)
        _, native_name = self.location.find_table(self.con, name)
        if child is None:
            return self.location.native_query(f"SELECT * FROM {ident(native_name)} WHERE {condition}")
        # each child row once per parent row of its key that may have changed, with the child's rowid and the
        # parent row's incremental column (as _PARENT_CHANGED), so that DuckDB judges the change exactly without
        # reading the parent a second time
        _, child_name = self.location.find_table(self.con, child.name)
        join, changed = ident(child.parent[1]), ident(columns[table.incremental_column][0])
        return self.location.native_query(
            f"SELECT c.rowid AS {_CHILD_ROW}, c.*, p.{changed} AS {_PARENT_CHANGED} FROM {ident(child_name)} AS c "
            f"JOIN (SELECT {join}, {changed} FROM {ident(native_name)} WHERE {condition}) AS p ON c.{join} = p.{join}"
        )

    def _parent(self) -> tuple[Table, str, str | None, dict]:
        parent_name, join_column = self.table.parent
        parent = contract_table(f"{self.table.source}.{parent_name}")
        relation = self.location.relation(self.con, parent.name)
        columns = self.location.columns(self.con, parent.name, relation) if relation else {}
        return parent, join_column, relation, columns

    def _parent_mark(self) -> datetime | None:
        """The parent's newest change, taken before the children are read so that none is missed: the mark of the
        parent's own landing, which comes first (the child's asset depends on it), else the newest in the source.

        Any mark not later than the moment it was taken is safe: a parent that changes after it is read with its
        children next time. One taken earlier only makes the next load re-read a few more children, and saves
        reading the parent's whole column again (at 1M customers, 29 s of SQLite measured beside another run).
        """
        landed = self._recorded_mark(f"{self.table.source}.{self.table.parent[0]}")
        if landed:
            return landed
        parent, _, relation, columns = self._parent()
        if not relation or parent.incremental_column not in columns:
            return None
        actual, type_ = columns[parent.incremental_column]
        if self.location.kind in ("postgres", "mysql") and type_ in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
            # the database finds its own maximum: one value crosses the network, not the column
            ident = self.location.native_identifier
            schema, name = self.location.find_table(self.con, parent.name)
            now = self.con.execute("SELECT current_timestamp").fetchone()[0]
            bound = now.isoformat() if type_ != "TIMESTAMP" else self._local(now).isoformat(sep=" ")
            native = self.location.native_query(
                f"SELECT max({ident(actual)}) AS mark FROM {ident(schema)}.{ident(name)} "
                f"WHERE {ident(actual)} <= {literal(bound)}"
            )
            return self.con.execute(f"SELECT CAST(mark AS TIMESTAMPTZ) FROM {native}").fetchone()[0]
        return self.con.execute(
            f"SELECT max(TRY_CAST({quote(actual)} AS TIMESTAMPTZ)) FILTER (TRY_CAST({quote(actual)} AS TIMESTAMPTZ) "
            f"<= current_timestamp) FROM {relation}"
        ).fetchone()[0]

    def _children_of_changed_parents(self, relation: str) -> str:
        """Children of the parents changed since the mark.

        A database source runs the semi-join itself, so only the changed
        children cross the network; SQLite joins the children to the parents
        that may have changed, read once, and the change is judged here (at
        1M customers a night's order lines took 4 s instead of 7-9 s, when
        the orders were read twice); files are joined here.
        """
        parent, join_column, parent_relation, parent_columns = self._parent()
        if not parent_relation or parent.incremental_column not in parent_columns:
            return f"{relation} WHERE false"
        location = self.location
        if location.kind in ("postgres", "mysql"):
            ident = location.native_identifier
            child_schema, child_name = location.find_table(self.con, self.table.name)
            parent_schema, parent_name = location.find_table(self.con, parent.name)
            threshold = self._local(self.previous_mark - self.overlap).isoformat(sep=" ")
            join = ident(join_column)
            sql = (
                f"SELECT * FROM {ident(child_schema)}.{ident(child_name)} WHERE {join} IN "
                f"(SELECT {join} FROM {ident(parent_schema)}.{ident(parent_name)} "
                f"WHERE {ident(parent_columns[parent.incremental_column][0])} >= {literal(threshold)})"
            )
            return location.native_query(sql)
        children = self._narrowed(parent.name, parent_columns, child=self.table)
        if children:  # SQLite: the parent is read once, in the query that finds the children; each child once
            carried = {parent.incremental_column: (_PARENT_CHANGED, parent_columns[parent.incremental_column][1])}
            changed = self._after_mark(parent.incremental_column, carried)
            return f"{children} WHERE {changed} QUALIFY row_number() OVER (PARTITION BY {_CHILD_ROW}) = 1"
        changed = self._after_mark(parent.incremental_column, parent_columns)
        parent_key = quote(parent_columns[join_column][0])
        return f"{relation} WHERE {join_column} IN (SELECT {parent_key} FROM {parent_relation} WHERE {changed})"

    # -- checking and writing -----------------------------------------------------------

    def _check_types(self, target: str, columns: dict[str, tuple[str, str]]) -> None:
        """A required value that cannot be read as its type stops the load."""
        checks = [c for c in self.table.columns if (c.required or c.key) and c.type != TEXT and c.name in columns]
        if not checks:
            return
        parts = []
        for c in checks:
            bad = f"{c.name} IS NOT NULL AND TRY_CAST({c.name} AS {DUCKDB_TYPES[c.type]}) IS NULL"
            parts.append(f"count(*) FILTER ({bad}), CAST(any_value({c.name}) FILTER ({bad}) AS VARCHAR)")
        row = self.con.execute(f"SELECT {', '.join(parts)} FROM {target}").fetchone()
        for i, c in enumerate(checks):
            count, example = row[2 * i], row[2 * i + 1]
            if count:
                raise SourceError(
                    self.table.source,
                    self.table.name,
                    f"{count} {'value is' if count == 1 else 'values are'} not {c.type} (first: {example!r})",
                    column=c.name,
                )

    def _conform_batch(self) -> None:
        """Give the batch's text columns the raw table's types where the raw table holds another (a SQLite table
        landed whole, read typed: SourceLocation.reads_typed) and every value reads as that type exactly, as the
        typed read would have read it; where one does not, the raw table's column becomes text, values as they are."""
        con, raw = self.con, self.raw
        raw_types, batch_types = duck.column_types(con, raw), duck.column_types(con, "_batch")
        differing = [
            (c, raw_types[c])
            for c in self.table.column_names
            if batch_types[c] == "VARCHAR" != raw_types.get(c, "VARCHAR")
        ]
        if not differing:
            return
        fits = []
        for c, type_ in differing:
            exact = f"TRY_CAST({c} AS {type_}) IS NOT NULL"
            if type_ in PLAIN_MOMENT_REGEX:
                exact += f" AND regexp_full_match({c}, '{PLAIN_MOMENT_REGEX[type_]}')"
            elif type_ not in ("BIGINT", "DOUBLE"):
                exact = "false"
            fits.append(f"count(*) FILTER ({c} IS NOT NULL AND NOT ({exact})) = 0")
        cast = []
        for (c, type_), fit in zip(
            differing, con.execute(f"SELECT {', '.join(fits)} FROM _batch").fetchone(), strict=True
        ):
            if fit:
                cast.append(f"CAST({c} AS {type_}) AS {c}")
            else:
                con.execute(f"ALTER TABLE {raw} ALTER {c} TYPE VARCHAR")
        if cast:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _batch AS SELECT * REPLACE ({', '.join(cast)}) FROM _batch")

    def _upsert(self) -> int:
        """Replace the raw rows of the batch's keys with the batch's, except where they are the same rows: those
        keep the load that brought them, so the staging does not work them out again (a changed order brings all its
        lines again, and the overlap its rows). Returns how many rows were left so."""
        raw, key = self.raw, self.table.key
        con = self.con
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _changed AS SELECT * FROM _batch "
            f"WHERE NOT EXISTS (SELECT 1 FROM ({self._unchanged_keys()}) AS same "
            f"WHERE {same_key(key, 'same', '_batch')})"
        )
        unchanged = con.execute("SELECT (SELECT count(*) FROM _batch) - (SELECT count(*) FROM _changed)").fetchone()[0]
        con.execute(f"DELETE FROM {raw} USING _changed WHERE {same_key(key, raw, '_changed')}")
        # A row without a key can only be recognised by its whole content.
        same_row = " AND ".join(f"b.{c} IS NOT DISTINCT FROM {raw}.{c}" for c in self.table.column_names)
        key_is_null = " OR ".join(f"{raw}.{k} IS NULL" for k in key)
        batch_null = " OR ".join(f"b.{k} IS NULL" for k in key)
        con.execute(
            f"DELETE FROM {raw} WHERE ({key_is_null}) "
            f"AND EXISTS (SELECT 1 FROM _changed b WHERE ({batch_null}) AND {same_row})"
        )
        con.execute(f"INSERT INTO {raw} BY NAME SELECT * FROM _changed")
        con.execute("DROP TABLE _changed")
        return unchanged

    def _unchanged_keys(self) -> str:
        """The keys whose rows in the batch are exactly the rows the raw table holds for them, none of which may have
        been in the future when it landed: the staging rejects a moment after its row's _loaded_at, and such a row
        is judged again when it is read again. A moment counts as possibly future from a day before its load (the
        zone a moment is read in moves it by less), or when it does not read as one here."""
        raw, key, columns = self.raw, self.table.key, ", ".join(self.table.column_names)
        keys = ", ".join(key)
        moments = [c.name for c in self.table.columns if c.type in (DATE, TIMESTAMP)]
        future = " OR ".join(
            f"({m} IS NOT NULL AND coalesce(TRY_CAST({m} AS TIMESTAMPTZ) > _loaded_at - INTERVAL 1 DAY, true))"
            for m in moments
        )
        held = f"SELECT * FROM {raw} WHERE EXISTS (SELECT 1 FROM _batch WHERE {same_key(key, '_batch', raw)})"
        return f"""
            WITH held AS MATERIALIZED ({held}),
            differing AS (
                SELECT {keys} FROM (SELECT {columns} FROM _batch EXCEPT ALL SELECT {columns} FROM held)
                UNION SELECT {keys} FROM (SELECT {columns} FROM held EXCEPT ALL SELECT {columns} FROM _batch)
                {f"UNION SELECT {keys} FROM held WHERE {future}" if future else ""}
            )
            SELECT {keys} FROM held EXCEPT SELECT {keys} FROM differing"""

    def _incremental_mark(self, target: str) -> datetime | None:
        table = self.table
        if not table.incremental_column:
            return None
        expression = f"TRY_CAST({table.incremental_column} AS TIMESTAMPTZ)"
        if table.incremental_fallback:
            expression = f"coalesce({expression}, TRY_CAST({table.incremental_fallback} AS TIMESTAMPTZ))"
        # Only rows that are not in the future may move the mark, or one bad
        # date would hide every real change until the clock caught up with it.
        newest = self.con.execute(
            f"SELECT max({expression}) FILTER ({expression} <= current_timestamp) FROM {target}"
        ).fetchone()[0]
        if self.mode == "incremental" and self.previous_mark:
            return max(filter(None, (newest, self.previous_mark)))
        return newest

    def _record_state(self, mark, rows_in_raw: int, rows_extracted: int, started: float) -> None:
        con, name = self.con, self.table.qualified
        con.execute(f"DELETE FROM {META_SCHEMA}.extract_state WHERE source_table = ?", [name])
        con.execute(
            f"INSERT INTO {META_SCHEMA}.extract_state VALUES (?, ?, ?, ?, ?, current_timestamp)",
            [name, mark, self.load_id, self.mode, rows_in_raw],
        )
        con.execute(
            f"INSERT INTO {META_SCHEMA}.loads VALUES "
            "(?, ?, ?, ?, current_timestamp - to_microseconds(?), current_timestamp, ?, ?, ?)",
            [
                self.load_id,
                name,
                self.location.describe(),
                self.mode,
                int((time.monotonic() - started) * 1e6),
                rows_extracted,
                rows_in_raw,
                mark,
            ],
        )
