"""Extraction: one asset per source table, landed in the warehouse's raw schemas behind its quality gate."""

from datetime import timedelta

import dagster as dg

from assets.quality import record_checks
from crmseg import contract
from crmseg.errors import SourceError
from crmseg.landing import land_table
from crmseg.quality import ERROR, CheckOutcome, QualityGateFailed
from expectations.runner import load_suite, validate
from orchestration.resources import SourceResource, WarehouseResource

SOURCE_KINDS = {"crm": "postgres", "erp": "mysql", "service": "file"}


class ExtractConfig(dg.Config):
    full_refresh: bool = False  # reload the whole table instead of the rows changed since the last load
    overlap_minutes: int = 60  # re-read this much before the high-water mark, for late commits
    # a database server that does not answer is tried again this many times, waiting
    # retry_seconds, then twice that, and so on (10, 20, 40 s by default)
    retries: int = 3
    retry_seconds: float = 10.0


def raw_key(table: contract.Table) -> dg.AssetKey:
    return dg.AssetKey([f"raw_{table.source}", table.name])


def check_name(table: contract.Table, check: str) -> str:
    return f"check_{table.name}_{check}"


def check_specs(table: contract.Table) -> list[dg.AssetCheckSpec]:
    """One asset check per expectation of the table's suite; error severity blocks what comes after."""
    return [
        dg.AssetCheckSpec(
            name=check_name(table, expectation["meta"]["check"]),
            asset=raw_key(table),
            blocking=expectation["meta"]["severity"] == ERROR,
            description=f"{expectation['type']} ({expectation['meta']['severity']})",
        )
        for expectation in load_suite(table.qualified)["expectations"]
    ]


def extract_asset(table: contract.Table) -> dg.AssetsDefinition:
    source_key = f"{table.source}_source"

    @dg.asset(
        key=raw_key(table),
        group_name="extract",
        description=f"{table.description} Landed as the source holds it, with load metadata.",
        kinds={"duckdb", SOURCE_KINDS[table.source]},
        owners=["team:data-engineering"],
        required_resource_keys={"warehouse", source_key},
        tags={"source": table.source},
        deps=[raw_key(contract.table(f"{table.source}.{table.parent[0]}"))] if table.parent else None,
        check_specs=check_specs(table),
    )
    def _extract(context: dg.AssetExecutionContext, config: ExtractConfig):
        warehouse: WarehouseResource = context.resources.warehouse
        source: SourceResource = getattr(context.resources, source_key)
        try:
            result = land_table(
                warehouse.path,
                source.location(),
                table,
                load_id=context.run.run_id,
                timezone=warehouse.timezone,
                full_refresh=config.full_refresh,
                overlap=timedelta(minutes=config.overlap_minutes),
                validate=validate,
            )
        except QualityGateFailed as exc:
            # the load was rolled back: the checks are reported, the raw table is as it was
            report = record_checks(context, warehouse, exc.outcomes)
            yield from (check_result(table, outcome) for outcome in exc.outcomes)
            failed = sum(o.blocks for o in exc.outcomes)
            metadata = {"failed_checks": failed, "report": dg.MetadataValue.path(report)}
            raise dg.Failure(description=str(exc), metadata=metadata) from None
        except SourceError as exc:
            if exc.transient and context.retry_number < config.retries:
                wait = config.retry_seconds * 2**context.retry_number
                context.log.warning(f"{exc}; attempt {context.retry_number + 1} failed, trying again in {wait:g}s")
                raise dg.RetryRequested(max_retries=config.retries, seconds_to_wait=wait) from exc
            tries = f" (gave up after {context.retry_number + 1} attempts)" if exc.transient else ""
            metadata = {"source": table.source, "table": table.name}
            raise dg.Failure(description=f"{exc}{tries}", metadata=metadata) from None
        warnings = sum(not o.passed for o in result.checks)
        unchanged = f" ({result.rows_unchanged:,} as landed before)" if result.rows_unchanged else ""
        context.log.info(
            f"{table.qualified}: {result.mode} load of {result.rows_extracted:,} rows{unchanged}, "
            f"{result.rows_in_raw:,} in {result.raw_table}; {len(result.checks)} checks, "
            f"{warnings} warning{'' if warnings == 1 else 's'} ({result.seconds:.1f}s)"
        )
        report = record_checks(context, warehouse, list(result.checks))
        yield dg.MaterializeResult(
            check_results=[check_result(table, outcome) for outcome in result.checks],
            metadata={
                "dagster/row_count": result.rows_in_raw,
                "rows_extracted": result.rows_extracted,
                "rows_unchanged": result.rows_unchanged,
                "mode": result.mode,
                "high_water_mark": str(result.high_water_mark) if result.high_water_mark else "none",
                "location": result.location,
                "missing_optional_columns": ", ".join(result.missing_optional_columns) or "none",
                "warnings": warnings,
                "report": dg.MetadataValue.path(report),
                "seconds": round(result.seconds, 3),
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c.name, c.type) for c in table.columns]
                ),
            },
        )

    return _extract


extract_assets = [extract_asset(t) for t in contract.TABLES]


def check_result(table: contract.Table, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name(table, outcome.check),
        asset_key=raw_key(table),
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN,
        metadata={
            "unexpected_count": outcome.unexpected_count,
            "unexpected_percent": round(outcome.unexpected_percent, 3),
            "observed": outcome.observed or "n/a",
            "expected": outcome.expected or "n/a",
            "sample": ", ".join(outcome.sample) or "none",
            "rows": outcome.rows or 0,
        },
    )
