"""A writer of the warehouse that holds it until told, for the one-writer-at-a-time tests.

    python tests/warehouse_writer.py hold WAREHOUSE RELEASE_FILE
    python tests/warehouse_writer.py run WAREHOUSE RELEASE_FILE NAME

`hold` takes the warehouse's writer lock itself; `run` is a Dagster run of one
small asset with the project's WarehouseResource, which takes the lock for the
whole run as a nightly run does (its log, with the waiting line, goes to
stderr; the run is kept in the instance of $DAGSTER_HOME). Either one, once it
holds the warehouse, writes (NAME, 'in') to the table `turns`, says "holding"
on stdout, keeps its DuckDB connection open until RELEASE_FILE exists, then
writes (NAME, 'out').
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from crmseg import duck


def take_turn(con: duckdb.DuckDBPyConnection, name: str, release: Path) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS turns (writer VARCHAR, step VARCHAR)")
    con.execute("INSERT INTO turns VALUES (?, 'in')", [name])
    print("holding", flush=True)
    while not release.exists():
        time.sleep(0.05)
    con.execute("INSERT INTO turns VALUES (?, 'out')", [name])


def hold(warehouse: str, release: str) -> None:
    with duck.WriterLock(warehouse), duck.connect(warehouse) as con:
        take_turn(con, "hold", Path(release))


def run(warehouse: str, release: str, name: str) -> int:
    import dagster as dg

    from orchestration.resources import WarehouseResource

    @dg.asset(required_resource_keys={"warehouse"})
    def turn(context) -> None:
        with context.resources.warehouse.connect() as con:
            take_turn(con, name, Path(release))

    resource = WarehouseResource(path=warehouse, timezone="Asia/Shanghai", reports_dir=str(Path(warehouse).parent))
    result = dg.materialize([turn], resources={"warehouse": resource}, instance=dg.DagsterInstance.get())
    return 0 if result.success else 1


if __name__ == "__main__":
    how, *arguments = sys.argv[1:]
    sys.exit(hold(*arguments) if how == "hold" else run(*arguments))
