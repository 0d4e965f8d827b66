"""The one Dagster `Definitions` of crmseg: assets, resources, partitions, job, schedule and alert sensor.

`dagster dev -w workspace.yaml` loads `defs`; the CLI builds the same
definitions from the same settings, so its runs land in the instance the UI
shows. The environment is read when the definitions are built, not at import.
"""

from __future__ import annotations

import os

import dagster as dg

from assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR, DbtCli, build_dbt_assets
from assets.extract import extract_assets
from assets.publish import build_publish_asset
from crmseg.contract import SOURCES
from crmseg.settings import PUBLISH_POSTGRES_VAR, SOURCE_URL_VARS, Settings
from orchestration.alerts import build_failure_alert
from orchestration.resources import ServingResource, SourceResource, WarehouseResource

JOB_NAME = "nightly_segmentation"
SCHEDULE_NAME = "nightly_segmentation_schedule"
DBT_OP = "crmseg_dbt_models"


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per as-of date, in the business's time zone."""
    return dg.DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone)


def source_resource(settings: Settings, source: str) -> SourceResource:
    # A URL set in the environment may hold a password: pass it as an EnvVar so
    # it is resolved at run time and never shown in the UI or stored in a run.
    variable = SOURCE_URL_VARS[source]
    url = dg.EnvVar(variable) if os.environ.get(variable) else settings.source_url(source)
    return SourceResource(name=source, url=url)


def build_definitions(settings: Settings, loggers: dict[str, dg.LoggerDefinition] | None = None) -> dg.Definitions:
    """loggers: besides Dagster's console logger (the CLI adds its progress printer)."""
    partitions = daily_partitions(settings)
    job = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.all(),
        # Every step writes the one DuckDB warehouse, which allows one writing
        # process: steps run one after another in the run's own process.
        executor_def=dg.in_process_executor,
        description="Extract the sources, check them, build the segments for the as-of date and publish them.",
    )
    schedule = dg.build_schedule_from_partitioned_job(
        job,
        name=SCHEDULE_NAME,
        hour_of_day=2,
        minute_of_hour=0,
        description="Every night at 02:00 in CRMSEG_TIMEZONE, for the day before.",
    )
    dbt_models = build_dbt_assets(partitions, settings.data_dir, settings.timezone, settings.backfill_chunk_days)
    return dg.Definitions(
        assets=[*extract_assets, dbt_models, build_publish_asset(settings.timezone)],
        jobs=[job],
        schedules=[schedule],
        sensors=[build_failure_alert(job, settings.alert_webhook_url)],
        loggers={"console": dg.colored_console_logger, **(loggers or {})},
        resources={
            "warehouse": WarehouseResource(
                path=str(settings.warehouse_path), timezone=settings.timezone, reports_dir=str(settings.reports_dir)
            ),
            "dbt": DbtCli(
                project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
            ),
            "serving": ServingResource(
                path=str(settings.serving_dir),
                # may hold a password: resolved at run time, never shown in the UI
                postgres_url=dg.EnvVar(PUBLISH_POSTGRES_VAR) if settings.publish_postgres_url else None,
            ),
            **{f"{source}_source": source_resource(settings, source) for source in SOURCES},
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
