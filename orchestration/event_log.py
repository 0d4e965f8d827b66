"""Dagster's SQLite event log, with its connections kept open for the life of a process.

Dagster's own `SqliteEventLogStorage` creates an SQLAlchemy engine, connects, and disposes of the engine for every
statement it writes: about three times for each stored event (the run's database, then the index, where asset and
check events are copied), and a run stores hundreds of events (each dbt model and test, each planned asset): on the
demo's sources 63 to 70 s a `crmseg run` with it, 51 to 55 s with this storage, which keeps one engine for each
database it writes. The databases, their schema and their rows are Dagster's own, and the UI reads them as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

# a run writes its own database and the index; the UI reads many runs' databases and keeps the engines of the ones
# it read last
KEPT_ENGINES = 8


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` (`event_log_storage` in dagster.yaml, config `base_dir`) with kept engines."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: dict[tuple[int, str], sa.Engine] = {}  # by process (a fork opens its own) and database
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> sa.Engine:
        key = (os.getpid(), shard)
        engine = self._engines.pop(key, None)
        if engine is None:
            engine = sa.create_engine(
                self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            while len(self._engines) >= KEPT_ENGINES:
                self._engines.pop(next(iter(self._engines))).dispose()
        self._engines[key] = engine  # last: the most recently used
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock, self._engine(shard).connect() as conn:
            with conn.begin():
                yield conn
            if shard != INDEX_SHARD_NAME:
                # what was written, copied into the run's database file, as Dagster's closing of the connection did:
                # the UI's watcher of a run in progress wakes when that file changes
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def wipe(self) -> None:
        self._dispose_engines()  # the run databases' files are deleted
        super().wipe()

    def dispose(self) -> None:
        super().dispose()  # the watchers stop first: they read through the engines
        self._dispose_engines()

    def _dispose_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
