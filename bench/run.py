"""`make bench`: speed and memory figures, printed and saved under bench/results/.

    BENCH_CUSTOMERS=1000000 make bench     # the sizes the issues quote (default)
    BENCH_CUSTOMERS=100000 make bench      # a quicker look

Each measured stage runs in its own process so that its peak memory (max RSS)
is its own. Extraction is compared with each database's own bulk export of
the same table: PostgreSQL `COPY ... TO STDOUT` through psql, and the MariaDB
client in batch mode, both written to /dev/null.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/crmseg-bench"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
DATABASE = "crmseg_bench"
END_DATE = date(2026, 6, 30)
LINES = "erp.sales_order_lines"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_url(admin_url: str) -> str:
    return sa.make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


# -- stages (each in its own process) ------------------------------------------------------


def stage_generate() -> dict:
    from crmseg.generate import GenerateOptions, generate

    manifest = generate(GenerateOptions(out=WORK / "sources", customers=CUSTOMERS, end_date=END_DATE))
    rows = sum(manifest["rows"].values())
    return {"rows": rows, "order_lines": manifest["rows"][LINES], "seconds": manifest["seconds"]}


def stage_load(admin_url: str) -> dict:
    """Put the generated ERP tables into the database, through the generator's own sink."""
    from crmseg import contract, duck
    from crmseg.generate.sinks import DatabaseSink

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        drop = f"DROP DATABASE IF EXISTS {DATABASE}" + (" WITH (FORCE)" if "postgres" in admin_url else "")
        con.execute(sa.text(drop))
        con.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    engine.dispose()
    started = time.monotonic()
    sink = DatabaseSink("erp", database_url(admin_url))
    rows = 0
    with duck.connect() as con:
        sink.prepare(con)
        for table in contract.tables_of("erp"):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE staged AS SELECT *, row_number() OVER () AS _row "
                f"FROM sqlite_scan('{WORK / 'sources' / 'erp.sqlite'}', '{table.name}')"
            )
            sink.append(con, table, "staged")
            rows += con.execute("SELECT count(*) FROM staged").fetchone()[0]
        sink.finish(con)
    return {"rows": rows, "seconds": time.monotonic() - started}


def stage_extract(admin_url: str, source: str) -> dict:
    from crmseg import contract
    from crmseg.landing import land_table
    from crmseg.sources import SourceLocation

    warehouse = WORK / f"warehouse-{source}.duckdb"
    warehouse.unlink(missing_ok=True)
    url = database_url(admin_url).replace("+psycopg", "").replace("+pymysql", "")
    result = land_table(
        warehouse,
        SourceLocation.parse("erp", url),
        contract.table(LINES),
        load_id="bench",
        timezone="Asia/Shanghai",
        full_refresh=True,
    )
    return {"rows": result.rows_in_raw, "seconds": result.seconds}


STAGES = {
    "generate": stage_generate,
    "load_postgres": lambda: stage_load(POSTGRES_ADMIN_URL),
    "load_mariadb": lambda: stage_load(MARIADB_ADMIN_URL),
    "extract_postgres": lambda: stage_extract(POSTGRES_ADMIN_URL, "postgres"),
    "extract_mariadb": lambda: stage_extract(MARIADB_ADMIN_URL, "mariadb"),
}


def run_stage(name: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--stage", name], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- database bulk exports --------------------------------------------------------------------


def timed_export(command: list[str], env: dict | None = None) -> float:
    started = time.monotonic()
    with open(os.devnull, "wb") as sink:
        subprocess.run(command, check=True, stdout=sink, env={**os.environ, **(env or {})})
    return time.monotonic() - started


def export_postgres() -> float:
    url = sa.make_url(POSTGRES_ADMIN_URL)
    command = ["psql", "-h", url.host, "-p", str(url.port or 5432), "-U", url.username, "-d", DATABASE]
    return timed_export([*command, "-c", "COPY sales_order_lines TO STDOUT"], {"PGPASSWORD": url.password or ""})


def export_mariadb() -> float:
    url = sa.make_url(MARIADB_ADMIN_URL)
    command = ["mariadb", "-h", url.host, "-P", str(url.port or 3306), "-u", url.username, "--batch", "--quick"]
    if url.password:
        command.append(f"-p{url.password}")
    return timed_export([*command, DATABASE, "-e", "SELECT * FROM sales_order_lines"])


# -- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=STAGES, help="run one stage and print its figures as JSON (internal)")
    args = parser.parse_args()
    if args.stage:
        figures = STAGES[args.stage]()
        print(json.dumps({**figures, "peak_rss_mib": round(peak_rss_mib(), 1)}))
        return

    WORK.mkdir(parents=True, exist_ok=True)
    print(f"crmseg bench: {CUSTOMERS:,} customers, work dir {WORK}")
    results: dict[str, dict] = {}

    def record(name: str, figures: dict) -> None:
        figures["rows_per_s"] = round(figures["rows"] / figures["seconds"]) if figures["seconds"] else None
        results[name] = figures
        memory = f"{figures['peak_rss_mib']:>8,.0f} MiB peak" if "peak_rss_mib" in figures else ""
        print(
            f"  {name:<28} {figures['rows']:>12,} rows {figures['seconds']:>8.1f} s "
            f"{figures['rows_per_s'] or 0:>12,} rows/s {memory}",
            flush=True,
        )

    record("generate (sqlite + jsonl)", run_stage("generate"))
    lines = results["generate (sqlite + jsonl)"]["order_lines"]
    for database, export in (("postgres", export_postgres), ("mariadb", export_mariadb)):
        record(f"load erp into {database}", run_stage(f"load_{database}"))
        record(f"{database} bulk export", {"rows": lines, "seconds": export()})
        record(f"extract lines from {database}", run_stage(f"extract_{database}"))
        ratio = (
            results[f"extract lines from {database}"]["rows_per_s"] / results[f"{database} bulk export"]["rows_per_s"]
        )
        results[f"{database} extract / bulk export"] = {"ratio": round(ratio, 2)}
        print(f"  {database}: extraction runs at {ratio:.2f}x the rate of the database's own bulk export")

    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    path = out / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"customers": CUSTOMERS, "results": results}, indent=2) + "\n")
    print(f"figures saved to {path}")


if __name__ == "__main__":
    main()
