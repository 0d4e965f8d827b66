"""Extraction: one asset per source table, landed in the warehouse's raw schemas."""

from datetime import timedelta

import dagster as dg

from crmseg import contract
from crmseg.errors import SourceError
from crmseg.landing import land_table
from orchestration.resources import SourceResource, WarehouseResource

SOURCE_KINDS = {"crm": "postgres", "erp": "mysql", "service": "file"}


class ExtractConfig(dg.Config):
    full_refresh: bool = False  # reload the whole table instead of the rows changed since the last load
    overlap_minutes: int = 60  # re-read this much before the high-water mark, for late commits


def raw_key(table: contract.Table) -> dg.AssetKey:
    return dg.AssetKey([f"raw_{table.source}", table.name])


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
    )
    def _extract(context: dg.AssetExecutionContext, config: ExtractConfig) -> dg.MaterializeResult:
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
            )
        except SourceError as exc:
            raise dg.Failure(description=str(exc), metadata={"source": table.source, "table": table.name}) from None
        context.log.info(
            f"{table.qualified}: {result.mode} load of {result.rows_extracted} rows, "
            f"{result.rows_in_raw} in {result.raw_table}"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows_in_raw,
                "rows_extracted": result.rows_extracted,
                "mode": result.mode,
                "high_water_mark": str(result.high_water_mark) if result.high_water_mark else "none",
                "location": result.location,
                "missing_optional_columns": ", ".join(result.missing_optional_columns) or "none",
                "seconds": round(result.seconds, 3),
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c.name, c.type) for c in table.columns]
                ),
            }
        )

    return _extract


extract_assets = [extract_asset(t) for t in contract.TABLES]
