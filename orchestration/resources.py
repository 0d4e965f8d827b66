"""The external systems, as typed Dagster resources."""

from __future__ import annotations

import dagster as dg
import duckdb

from crmseg import duck
from crmseg.sources import SourceLocation


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse: raw landings, dbt models, load state."""

    path: str
    timezone: str
    reports_dir: str  # the per-run HTML reports

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return duck.connect(self.path, read_only=read_only, timezone=self.timezone)


class SourceResource(dg.ConfigurableResource):
    """One source system: a SQLAlchemy URL or a directory of files.

    The URL may carry a password, so production sets it through an
    environment variable (EnvVar), never in code.
    """

    name: str  # crm | erp | service
    url: str

    def location(self) -> SourceLocation:
        return SourceLocation.parse(self.name, self.url)
