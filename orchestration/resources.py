"""The external systems, as typed Dagster resources."""

from __future__ import annotations

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from crmseg import duck
from crmseg.sources import SourceLocation


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse: raw landings, dbt models, load state.

    A run holds the warehouse's writer lock from its first step to its end, so
    a second run started meanwhile waits for it instead of failing on DuckDB's
    file lock.
    """

    path: str
    timezone: str
    reports_dir: str  # the per-run HTML reports
    _lock: duck.WriterLock | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        def waiting(lock_path) -> None:
            context.log.info(f"another run is writing the warehouse; waiting for it to finish ({lock_path})")

        self._lock = duck.WriterLock(self.path)
        self._lock.acquire(on_wait=waiting)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.release()

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return duck.connect(self.path, read_only=read_only, timezone=self.timezone)


class ServingResource(dg.ConfigurableResource):
    """Where BI reads: the serving folder (DuckDB file and Parquet) and, optionally, a PostgreSQL database.

    The PostgreSQL URL may carry a password: production sets it through an EnvVar.
    """

    path: str
    postgres_url: str | None = None


class SourceResource(dg.ConfigurableResource):
    """One source system: a SQLAlchemy URL or a directory of files.

    The URL may carry a password, so production sets it through an
    environment variable (EnvVar), never in code.
    """

    name: str  # crm | erp | service
    url: str

    def location(self) -> SourceLocation:
        return SourceLocation.parse(self.name, self.url)
