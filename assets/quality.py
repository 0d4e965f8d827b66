"""What every stage that checks data does with its outcomes: keep them, rewrite the run's report."""

from pathlib import Path

import dagster as dg

from crmseg import quality
from crmseg.report import write_run_report
from orchestration.resources import WarehouseResource


def run_as_of_date(context: dg.AssetExecutionContext) -> str | None:
    """The run's as-of date: its partition, or the last date of a range run."""
    tags = context.run.tags
    return tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end")


def record_checks(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, outcomes: list[quality.CheckOutcome]
) -> Path:
    """Keep the outcomes in data_quality_results and rewrite the run's report; its path."""
    run_id = context.run.run_id
    with warehouse.connect() as con:
        quality.record(con, outcomes, run_id, run_as_of_date(context))
        path = write_run_report(con, warehouse.reports_dir, run_id)
    context.log.info(f"quality report: {path}")
    return path
