"""Settings from the environment (SPEC section 3), read when asked, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crmseg.duck import DBT_MEMORY_LIMIT_VAR, MEMORY_AMOUNT, MEMORY_LIMIT_VAR, SUITES_MEMORY_LIMIT_VAR, THREADS_VAR
from crmseg.errors import CrmsegError

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_START_DATE = "2020-01-01"
SOURCE_URL_VARS = {"crm": "CRMSEG_CRM_URL", "erp": "CRMSEG_ERP_URL", "service": "CRMSEG_SERVICE_URL"}
PUBLISH_POSTGRES_VAR = "CRMSEG_PUBLISH_POSTGRES_URL"
# a backfill's dates are built by dbt this many at a time (unset: as many as make BUILD_CUSTOMER_DATES): its memory
# and temporary disk are a chunk's, whatever the length of the range
BACKFILL_CHUNK_VAR = "CRMSEG_BACKFILL_CHUNK_DAYS"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    timezone: str
    start_date: str
    crm_url: str
    erp_url: str
    service_url: str
    publish_postgres_url: str | None
    alert_webhook_url: str | None = None  # a failed run is posted here
    dagster_postgres_url: str | None = None  # Dagster's run, event and schedule storage; SQLite when unset
    backfill_chunk_days: int | None = None  # dbt builds a range of dates this many at a time; None: by customers

    @classmethod
    def from_env(cls, environ: os._Environ | dict | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("CRMSEG_DATA_DIR") or "./data").expanduser().resolve()
        sources = data_dir / "sources"
        timezone = env.get("CRMSEG_TIMEZONE") or DEFAULT_TIMEZONE
        try:
            ZoneInfo(timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise CrmsegError(f"CRMSEG_TIMEZONE: unknown time zone {timezone!r}") from None
        start_date = env.get("CRMSEG_START_DATE") or DEFAULT_START_DATE
        try:
            date.fromisoformat(start_date)
        except ValueError:
            raise CrmsegError(f"CRMSEG_START_DATE: not a date (YYYY-MM-DD): {start_date!r}") from None
        check_duckdb_limits(env)
        chunk_days = env.get(BACKFILL_CHUNK_VAR) or None
        if chunk_days is not None and (not chunk_days.isdigit() or int(chunk_days) < 1):
            raise CrmsegError(f"{BACKFILL_CHUNK_VAR}: not a positive number of days: {chunk_days!r}")
        return cls(
            data_dir=data_dir,
            timezone=timezone,
            start_date=start_date,
            crm_url=env.get(SOURCE_URL_VARS["crm"]) or f"sqlite:///{sources / 'crm.sqlite'}",
            erp_url=env.get(SOURCE_URL_VARS["erp"]) or f"sqlite:///{sources / 'erp.sqlite'}",
            service_url=env.get(SOURCE_URL_VARS["service"]) or str(sources / "service"),
            publish_postgres_url=env.get(PUBLISH_POSTGRES_VAR) or None,
            alert_webhook_url=env.get("CRMSEG_ALERT_WEBHOOK_URL") or None,
            dagster_postgres_url=env.get("CRMSEG_DAGSTER_POSTGRES_URL") or None,
            backfill_chunk_days=int(chunk_days) if chunk_days else None,
        )

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def serving_dir(self) -> Path:
        return self.data_dir / "serving"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster"

    def source_url(self, source: str) -> str:
        return {"crm": self.crm_url, "erp": self.erp_url, "service": self.service_url}[source]

    def yesterday(self, now: datetime | None = None) -> date:
        """Yesterday in the configured time zone: the default as-of date."""
        now = now or datetime.now(ZoneInfo(self.timezone))
        return now.astimezone(ZoneInfo(self.timezone)).date() - timedelta(days=1)


def check_duckdb_limits(env) -> None:
    """CRMSEG_DUCKDB_MEMORY_LIMIT, CRMSEG_DBT_MEMORY_LIMIT and CRMSEG_SUITES_MEMORY_LIMIT as DuckDB reads them
    (e.g. 3GB, 500MiB) and CRMSEG_DUCKDB_THREADS a positive count."""
    for variable in (MEMORY_LIMIT_VAR, DBT_MEMORY_LIMIT_VAR, SUITES_MEMORY_LIMIT_VAR):
        memory = env.get(variable)
        if memory and not MEMORY_AMOUNT.fullmatch(memory.strip()):
            raise CrmsegError(f"{variable}: not an amount of memory such as 3GB or 500MiB: {memory!r}")
    threads = env.get(THREADS_VAR)
    if threads and not (threads.isdigit() and int(threads) > 0):
        raise CrmsegError(f"{THREADS_VAR}: not a positive number of threads: {threads!r}")
