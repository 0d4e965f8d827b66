"""`make bench`: speed and memory figures, printed and saved under bench/results/.

    BENCH_CUSTOMERS=1000000 make bench     # the sizes the issues quote (default)
    BENCH_CUSTOMERS=100000 make bench      # a quicker look
    BENCH_PARTS=dbt make bench             # some parts (generate, runs, history, extract, land, suites, dbt,
                                           # publish, backfill); earlier output is reused

The runs part times `crmseg run` as a user runs it, a first full run and the
next night after a day of source changes, each against a hand-written DuckDB
floor (bench/floor.sql: land every table and compute SPEC section 5, nothing
else) measured in the same bench. It prints what the models of SPEC sections 8 and 9 took
in each run, then times their fits and scores alone on the latest date.

With the history part, the runs part then backfills HISTORY_DAYS dates (30; BENCH_HISTORY_DAYS) on
that warehouse in one run (compared with the next night) and runs the next
night again, on the longer history.

The backfill part compares a 30-day backfill as one run with 30 single-day
runs, on its own sources of BENCH_BACKFILL_CUSTOMERS customers (100,000).

The sources are SQLite files (and JSON Lines) by default; BENCH_SOURCES=parquet
generates the CRM and ERP as folders of Parquet files instead, a seventh of the
disk (what 10M customers need to fit), and the floor reads the same files.

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
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/crmseg-bench"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
BACKFILL_CUSTOMERS = int(os.environ.get("BENCH_BACKFILL_CUSTOMERS", "100000"))
BACKFILL_DAYS = 30
# the history part's backfill on the runs' warehouse: BENCH_HISTORY_DAYS=180 gives SPEC section 9 every window
HISTORY_DAYS = int(os.environ.get("BENCH_HISTORY_DAYS", str(BACKFILL_DAYS)))
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
DATABASE = "crmseg_bench"
END_DATE = date(2026, 6, 30)
LINES = "erp.sales_order_lines"
# the runs' own copy of the sources (a night changes them) and their warehouse, which the history part reuses
RUN_SOURCES, RUN_DATA = WORK / "run-sources", WORK / "run-data"
# the CRM's and the ERP's format: sqlite (files crm.sqlite, erp.sqlite) or parquet (folders crm/, erp/)
SOURCES = os.environ.get("BENCH_SOURCES", "sqlite")
if SOURCES not in ("sqlite", "parquet"):
    raise SystemExit(f"BENCH_SOURCES: sqlite or parquet, not {SOURCES!r}")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_of_tree_mib(root: int) -> float:
    """The resident memory of a process and all its descendants now, from /proc."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        pid = int(stat.parent.name)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * resource.getpagesize()
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | found, bool(found)
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


class TogetherPeak:
    """The peak of this process's and its children's memory taken together, sampled twice a second while open:
    dbt's own peak and the CLI process's are not at the same moment, and their sum at one moment is what the
    machine must hold."""

    def __init__(self, every: float = 0.5):
        self.every, self.mib, self._stop = every, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.mib = max(self.mib, rss_of_tree_mib(os.getpid()))

    def __enter__(self) -> TogetherPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def source_urls(sources: Path) -> dict[str, str]:
    """Where each source of generated sources lives, as crmseg's settings name it."""
    if SOURCES == "parquet":
        urls = {source: str(sources / source) for source in ("crm", "erp")}
    else:
        urls = {source: f"sqlite:///{sources / source}.sqlite" for source in ("crm", "erp")}
    return {**urls, "service": str(sources / "service")}


def source_relation(sources: Path, table) -> str:
    """A generated CRM or ERP table as DuckDB reads it."""
    if SOURCES == "parquet":
        return f"read_parquet('{sources / table.source / table.name}/*.parquet')"
    return f"sqlite_scan('{sources / table.source}.sqlite', '{table.name}')"


def database_url(admin_url: str, name: str = DATABASE) -> str:
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def fresh_database(admin_url: str, name: str = DATABASE) -> str:
    """An empty database of this name on the admin URL's server (dropped first if there); its URL."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        con.execute(sa.text(f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if "postgres" in admin_url else "")))
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return database_url(admin_url, name)


# -- stages (each in its own process) ------------------------------------------------------


def generate_sources(out: Path, customers: int) -> dict:
    """Sources of this many customers in BENCH_SOURCES's format; the generator's manifest."""
    from crmseg.generate import GenerateOptions, generate

    urls = source_urls(out)
    folders = {"crm_url": urls["crm"], "erp_url": urls["erp"]} if SOURCES == "parquet" else {}
    return generate(GenerateOptions(out=out, customers=customers, end_date=END_DATE, **folders))


def stage_generate() -> dict:
    manifest = generate_sources(WORK / "sources", CUSTOMERS)
    rows = sum(manifest["rows"].values())
    return {"rows": rows, "order_lines": manifest["rows"][LINES], "seconds": manifest["seconds"]}


def stage_load(admin_url: str) -> dict:
    """Put the generated ERP tables into the database, through the generator's own sink."""
    from crmseg import contract, duck
    from crmseg.generate.sinks import DatabaseSink

    url = fresh_database(admin_url)
    started = time.monotonic()
    sink = DatabaseSink("erp", url)
    rows = 0
    with duck.connect() as con:
        sink.prepare(con)
        for table in contract.tables_of("erp"):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE staged AS SELECT *, row_number() OVER () AS _row "
                f"FROM {source_relation(WORK / 'sources', table)}"
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


def stage_land_embedded() -> dict:
    """Land every generated table from its files: the warehouse the dbt stage builds on."""
    from crmseg import contract
    from crmseg.landing import land_table
    from crmseg.sources import SourceLocation

    warehouse = WORK / "warehouse-embedded" / "warehouse.duckdb"
    warehouse.parent.mkdir(exist_ok=True)
    warehouse.unlink(missing_ok=True)
    urls = source_urls(WORK / "sources")
    rows, seconds = 0, 0.0
    for table in contract.TABLES:
        location = SourceLocation.parse(table.source, urls[table.source])
        result = land_table(warehouse, location, table, load_id="bench", timezone="Asia/Shanghai")
        rows, seconds = rows + result.rows_in_raw, seconds + result.seconds
    return {"rows": rows, "seconds": seconds}


def stage_suites() -> dict:
    """Every table's Great Expectations suite on the landed warehouse: as a first (full) load, and as a
    nightly load that brought one day's share of the rows (re-stamped in a transaction rolled back after)."""
    from crmseg import contract, duck
    from crmseg.landing import raw_table_name
    from expectations.runner import validate

    warehouse = WORK / "warehouse-embedded" / "warehouse.duckdb"
    per_table, rows, nightly = {}, 0, 0.0
    with duck.connect(warehouse, timezone="Asia/Shanghai") as con:
        for table in contract.TABLES:
            raw = raw_table_name(table)
            started = time.monotonic()
            outcomes = validate(con, table, raw, "bench", True)
            per_table[table.qualified] = round(time.monotonic() - started, 2)
            rows += con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
            assert outcomes and not any(o.blocks for o in outcomes), [o.describe() for o in outcomes if o.blocks]
            con.execute("BEGIN TRANSACTION")
            con.execute(f"UPDATE {raw} SET _load_id = 'nightly' WHERE hash(rowid) % 365 = 0")
            started = time.monotonic()
            validate(con, table, raw, "nightly", False)
            nightly += time.monotonic() - started
            con.execute("ROLLBACK")
    return {
        "rows": rows,
        "seconds": sum(per_table.values()),
        "nightly_seconds": round(nightly, 2),
        "tables": dict(sorted(per_table.items(), key=lambda item: -item[1])),
    }


def stage_dbt() -> dict:
    """`dbt build` for one as-of date on the landed warehouse: time per model, start-up, peak memory of dbt."""
    from assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR, as_of_environment, dbt_build_args

    env = {**os.environ, "CRMSEG_DATA_DIR": str(WORK / "warehouse-embedded"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env |= as_of_environment(END_DATE.isoformat(), END_DATE.isoformat())
    target = WORK / "dbt-target"
    paths = ["--target-path", str(target), "--profiles-dir", str(DBT_PROJECT_DIR)]
    # the build a first run makes on the landed warehouse: every landed row staged, one model at a time
    build = dbt_build_args("{}", one_model_at_a_time=True)
    # the start-up build: one model, and none of the tests that read other models too
    startup = [*dbt_build_args("{}"), "--select", "int_as_of_dates", "--indirect-selection", "cautious"]
    timings = {}
    for name, args in (("startup", startup), ("build", build)):
        started = time.monotonic()
        subprocess.run([DBT_EXECUTABLE, "--quiet", *args, *paths], cwd=DBT_PROJECT_DIR, env=env, check=True)
        timings[name] = time.monotonic() - started
        if name == "startup":  # a one-model build: what is left after the model is dbt's own start-up
            results = json.loads((target / "run_results.json").read_text())["results"]
            timings["startup"] -= sum(r["execution_time"] for r in results)
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = {
        r["unique_id"].split(".")[-1]: r["execution_time"] for r in results if r["unique_id"].startswith("model.")
    }
    tests = sum(r["execution_time"] for r in results if not r["unique_id"].startswith(("model.", "seed.")))
    return {
        "rows": CUSTOMERS,
        "seconds": timings["build"],
        "startup_seconds": round(timings["startup"], 2),
        "tests_seconds": round(tests, 2),
        "models": {name: round(seconds, 2) for name, seconds in sorted(models.items(), key=lambda item: -item[1])},
        "dbt_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def stage_publish() -> dict:
    """Publish the serving tables of the dbt stage's warehouse: the DuckDB file and Parquet; again, with nothing
    changed (the history is carried over); then PostgreSQL too (its first publish: whole)."""
    from crmseg import duck
    from crmseg.publish import publish
    from crmseg.quality import ensure_results_table

    warehouse = WORK / "warehouse-embedded" / "warehouse.duckdb"
    with duck.connect(warehouse) as con:  # the dbt stage ran dbt alone: no run has recorded checks
        ensure_results_table(con)
    shutil.rmtree(WORK / "serving", ignore_errors=True)
    started = time.monotonic()
    local = publish(warehouse, WORK / "serving", "bench-local", "Asia/Shanghai")
    local_seconds = time.monotonic() - started
    started = time.monotonic()
    publish(warehouse, WORK / "serving", "bench-again", "Asia/Shanghai")
    again_seconds = time.monotonic() - started
    url = fresh_database(POSTGRES_ADMIN_URL, f"{DATABASE}_serving")
    started = time.monotonic()
    publish(warehouse, WORK / "serving", "bench-postgres", "Asia/Shanghai", postgres_url=url)
    return {
        "rows": sum(local.rows.values()),
        "seconds": local_seconds,
        "again_seconds": round(again_seconds, 2),
        "with_postgres_seconds": round(time.monotonic() - started, 2),
        "tables": local.rows,
    }


def settings_for(sources: Path, data_dir: Path, dagster_home: Path):
    """The CLI's settings for generated sources, set in this stage process's environment as a user sets them."""
    from crmseg.settings import Settings

    os.environ.update(
        CRMSEG_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(dagster_home),
        **{f"CRMSEG_{source.upper()}_URL": url for source, url in source_urls(sources).items()},
    )
    return Settings.from_env()


def stage_backfill(single_run: bool) -> dict:
    """BACKFILL_DAYS as-of dates through the CLI's own path: one run for the range, or one run per date.

    Each way starts from an empty warehouse, so each lands the sources once in full.
    """
    from datetime import timedelta

    from orchestration.cli import execute

    sources = WORK / f"backfill-sources-{SOURCES}-{BACKFILL_CUSTOMERS}"
    if not (sources / "manifest.json").exists():
        generate_sources(sources, BACKFILL_CUSTOMERS)
    data = WORK / ("backfill-one-run" if single_run else "backfill-daily-runs")
    shutil.rmtree(data, ignore_errors=True)
    settings = settings_for(sources, data / "data", data / "dagster")
    first = END_DATE - timedelta(days=BACKFILL_DAYS - 1)
    started = time.monotonic()
    if single_run:
        outcomes = [execute(settings, start=first, end=END_DATE)]
    else:
        outcomes = [execute(settings, as_of=first + timedelta(days=n)) for n in range(BACKFILL_DAYS)]
    seconds = time.monotonic() - started
    assert all(o.success for o in outcomes), [o.failure for o in outcomes if not o.success]
    return {"rows": BACKFILL_DAYS, "seconds": seconds, "runs": len(outcomes)}


def stage_floor() -> dict:
    """The hand-written floor (bench/floor.sql): land every source table and compute SPEC section 5, nothing else."""
    from crmseg import contract, duck

    sql = (ROOT / "floor.sql").read_text()
    if SOURCES == "parquet":  # the same script on the Parquet folders: a catalog of views named as the tables
        for source in ("crm", "erp"):
            views = [f"ATTACH ':memory:' AS {source};"] + [
                f"CREATE VIEW {source}.{table.name} AS SELECT * FROM {source_relation(WORK / 'sources', table)};"
                for table in contract.tables_of(source)
            ]
            sql = sql.replace(
                f"ATTACH '{{sources}}/{source}.sqlite' AS {source} (TYPE sqlite, READ_ONLY);", "\n".join(views)
            )
    sql = sql.replace("{sources}", str(WORK / "sources"))
    path = WORK / "floor.duckdb"
    path.unlink(missing_ok=True)
    land, segments = sql.replace("{as_of}", END_DATE.isoformat()).split("CREATE TABLE segments")
    started = time.monotonic()
    with duck.connect(path, timezone="Asia/Shanghai") as con:
        con.execute(land)
        landed = time.monotonic() - started
        con.execute("CREATE TABLE segments" + segments)
        rows = con.execute("SELECT count(*) FROM segments").fetchone()[0]
    seconds = time.monotonic() - started
    return {
        "rows": rows,
        "seconds": seconds,
        "steps": {"land": round(landed, 1), "section 5": round(seconds - landed, 1)},
    }


def day_of_changes(sources: Path, at: str) -> None:
    """A night's worth of source changes: one row in 365 of accounts, ERP customers and orders changed (the
    orders' lines come along), and as many new campaign responses."""
    if SOURCES == "parquet":
        parquet_day_of_changes(sources, at)
        return
    import sqlite3

    for database, statements in (
        (
            "crm.sqlite",
            [
                f"UPDATE accounts SET updated_at = '{at}' WHERE rowid % 365 = 0",
                # new responses, with ids of the day: a bench run again the next night adds new ones again
                f"INSERT INTO campaign_responses SELECT response_id || '-{at}', campaign_id, account_id, "
                f"response_type, '{at}' FROM campaign_responses WHERE rowid % 365 = 0 AND response_id NOT LIKE '%-%'",
            ],
        ),
        (
            "erp.sqlite",
            [
                f"UPDATE customers SET updated_at = '{at}' WHERE rowid % 365 = 0",
                f"UPDATE sales_orders SET updated_at = '{at}' WHERE rowid % 365 = 0",
            ],
        ),
    ):
        with sqlite3.connect(sources / database) as con:
            for statement in statements:
                con.execute(statement)


def parquet_day_of_changes(sources: Path, at: str) -> None:
    """day_of_changes in the Parquet folders: each file of a changed table written again, and the new responses
    in a file of their own."""
    from crmseg import duck

    with duck.connect() as con:
        for table in ("crm/accounts", "erp/customers", "erp/sales_orders"):
            for part in sorted((sources / table).glob("*.parquet")):
                changed = part.with_suffix(".changed")
                con.execute(
                    f"COPY (SELECT * EXCLUDE (file_row_number) REPLACE (CASE WHEN file_row_number % 365 = 0 THEN "
                    f"TIMESTAMP '{at}' ELSE updated_at END AS updated_at) FROM read_parquet('{part}', "
                    f"file_row_number = true) ORDER BY file_row_number) TO '{changed}' "
                    "(FORMAT parquet, COMPRESSION zstd)"
                )
                changed.replace(part)
        responses = sources / "crm" / "campaign_responses"
        con.execute(
            f"COPY (SELECT response_id || '-{at}' AS response_id, campaign_id, account_id, response_type, "
            f"TIMESTAMP '{at}' AS responded_at FROM read_parquet('{responses}/part-*.parquet', file_row_number = true) "
            f"WHERE file_row_number % 365 = 0) TO '{responses}/{at.replace(' ', 'T').replace(':', '')}.parquet' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )


def stage_run(night: str) -> dict:
    """`crmseg run` through the CLI's own path on its own copy of the sources: the first full run for END_DATE
    ("first"), or the next night ("next": a day of changes, then the run for the day after)."""
    from datetime import timedelta

    if night == "first":
        shutil.rmtree(RUN_DATA, ignore_errors=True)
        shutil.rmtree(RUN_SOURCES, ignore_errors=True)
        shutil.copytree(WORK / "sources", RUN_SOURCES)
        as_of = END_DATE
    else:
        day_of_changes(RUN_SOURCES, datetime.now().isoformat(sep=" ", timespec="seconds"))
        as_of = END_DATE + timedelta(days=1)
    return timed_cli_run(settings_for(RUN_SOURCES, RUN_DATA, RUN_DATA / "dagster"), as_of=as_of)


def stage_backfill_on_runs() -> dict:
    """HISTORY_DAYS as-of dates up to END_DATE backfilled in one run on the runs' warehouse, as an analyst
    re-runs a past month on a warehouse in use."""
    from datetime import timedelta

    settings = settings_for(RUN_SOURCES, RUN_DATA, RUN_DATA / "dagster")
    return timed_cli_run(settings, start=END_DATE - timedelta(days=HISTORY_DAYS - 1), end=END_DATE)


def timed_cli_run(settings, **dates) -> dict:
    """One `crmseg run` or `crmseg backfill` (dates: as_of, or start and end): its time, steps and dbt's peak."""
    import dagster as dg

    from orchestration.cli import execute

    started = time.monotonic()
    with TogetherPeak() as together:
        outcome = execute(settings, quiet=True, **dates)
    seconds = time.monotonic() - started
    assert outcome.success, outcome.failure
    steps = {
        stats.step_key: round(stats.end_time - stats.start_time, 1)
        for stats in dg.DagsterInstance.get().get_run_step_stats(outcome.run_id)
        if stats.end_time and stats.start_time
    }
    return {
        "rows": sum(m.get("rows_extracted", 0) for m in outcome.materialized.values()),
        "seconds": seconds,
        "steps": dict(sorted(steps.items(), key=lambda item: -item[1])),
        "dbt_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "together_peak_mib": round(together.mib, 1),
        "section_models": section_model_seconds(outcome.run_id),
    }


# the models of SPEC section 8 (dbt_project/models/intermediate/value/) and section 9 (effect evaluation)
SECTION_MODELS = {
    "section 8": ("int_purchase_days", "int_clv_fits", "int_clv_scores", "int_customer_predictions"),
    "section 9": ("int_outcome_windows", "segment_outcomes", "strategy_effects", "customer_moves"),
}


def section_model_seconds(run_id: str) -> dict[str, dict[str, float]]:
    """What each section's models took in the run's dbt builds (one per chunk of dates)."""
    times: dict[str, float] = {}
    for found in (RUN_DATA / "dbt" / "target").glob(f"{run_id[:8]}-*/run_results.json"):
        for result in json.loads(found.read_text())["results"]:
            model = result["unique_id"].split(".")[-1]
            times[model] = times.get(model, 0.0) + result["execution_time"]
    return {
        section: {model: round(times[model], 1) for model in models if model in times}
        for section, models in SECTION_MODELS.items()
    }


def stage_clv() -> dict:
    """SPEC section 8's fits and scores alone, on the latest as-of date the runs' warehouse built."""
    import duckdb

    from crmseg import clv

    with duckdb.connect(str(RUN_DATA / "warehouse.duckdb"), read_only=True) as con:
        inputs = con.execute(
            "SELECT * FROM intermediate.int_purchase_days "
            "WHERE as_of_date = (SELECT max(as_of_date) FROM intermediate.int_purchase_days)"
        ).df()
    started = time.monotonic()
    bg_nbd, gamma_gamma = clv.fit_both(inputs)
    fitted = time.monotonic()
    clv.score(inputs, bg_nbd.parameters, gamma_gamma.parameters)
    return {
        "rows": len(inputs),
        "seconds": time.monotonic() - started,
        "steps": {"bg_nbd": round(bg_nbd.fit_seconds, 1), "gamma_gamma": round(gamma_gamma.fit_seconds, 1),
                  "scores": round(time.monotonic() - fitted, 1)},
        "converged": bg_nbd.converged and gamma_gamma.converged,
    }  # fmt: skip


STAGES = {
    "floor": stage_floor,
    "run_first": lambda: stage_run("first"),
    "run_next": lambda: stage_run("next"),
    "backfill_on_runs": stage_backfill_on_runs,
    "clv": stage_clv,
    "generate": stage_generate,
    "load_postgres": lambda: stage_load(POSTGRES_ADMIN_URL),
    "load_mariadb": lambda: stage_load(MARIADB_ADMIN_URL),
    "extract_postgres": lambda: stage_extract(POSTGRES_ADMIN_URL, "postgres"),
    "extract_mariadb": lambda: stage_extract(MARIADB_ADMIN_URL, "mariadb"),
    "land_embedded": stage_land_embedded,
    "suites": stage_suites,
    "dbt": stage_dbt,
    "publish": stage_publish,
    "backfill_one_run": lambda: stage_backfill(True),
    "backfill_daily_runs": lambda: stage_backfill(False),
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


def bench_extraction(record, results: dict) -> None:
    """Order lines from PostgreSQL and MariaDB against each database's own bulk export of them."""
    for database, export in (("postgres", export_postgres), ("mariadb", export_mariadb)):
        record(f"load erp into {database}", run_stage(f"load_{database}"))
        extracted = run_stage(f"extract_{database}")
        record(f"{database} bulk export", {"rows": extracted["rows"], "seconds": export()})
        record(f"extract lines from {database}", extracted)
        ratio = (
            results[f"extract lines from {database}"]["rows_per_s"] / results[f"{database} bulk export"]["rows_per_s"]
        )
        results[f"{database} extract / bulk export"] = {"ratio": round(ratio, 2)}
        print(f"  {database}: extraction runs at {ratio:.2f}x the rate of the database's own bulk export")


def bench_runs(record, results: dict, history: bool) -> None:
    """The floor, then `crmseg run` for a first full run and for the next night, each as a ratio to the floor;
    with history, then a HISTORY_DAYS-day backfill on that warehouse (as a ratio to the night) and the next
    night again, on the longer history.

    Peak memory is that of the CLI process and dbt together, sampled (TogetherPeak); each one's own peak is
    printed too."""
    floor = run_stage("floor")
    record("floor: land + SPEC section 5", floor)
    print("    " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in floor["steps"].items()))
    runs = [("first full run", "run_first"), ("next night", "run_next")]
    if history:
        runs += [(f"{HISTORY_DAYS}-day backfill", "backfill_on_runs"), ("next night, longer history", "run_next")]
    for name, stage in runs:
        figures = run_stage(stage)
        cli_peak = figures["peak_rss_mib"]
        figures["peak_rss_mib"] = max(cli_peak, figures["dbt_peak_rss_mib"], figures["together_peak_mib"])
        figures["floor_ratio"] = round(figures["seconds"] / floor["seconds"], 2)
        record(f"crmseg run: {name}", figures)
        print(
            f"    {figures['floor_ratio']:.2f}x the floor; peak memory {figures['peak_rss_mib']:,.0f} MiB (the CLI "
            f"process and dbt together; each alone {cli_peak:,.0f} and {figures['dbt_peak_rss_mib']:,.0f} MiB); "
            "where the time goes:"
        )
        for step, seconds in list(figures["steps"].items())[:6]:
            print(f"      {step:<40} {seconds:>8.1f} s")
        for section, models in figures["section_models"].items():
            print(f"    of dbt's time, SPEC {section}'s models {sum(models.values()):.1f} s: {models}")
    fits = run_stage("clv")
    record("predicted value: fit + scores", fits)
    print(f"    {fits['steps']}, converged: {fits['converged']}")
    if history:
        night = results["crmseg run: next night"]["seconds"]
        ratio = results[f"crmseg run: {HISTORY_DAYS}-day backfill"]["seconds"] / night
        results["backfill / night"] = {"ratio": round(ratio, 2)}
        print(f"  the {HISTORY_DAYS}-day backfill takes {ratio:.1f}x the next night")


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

    every_part = "generate,runs,history,extract,land,suites,dbt,publish,backfill"
    parts = set(os.environ.get("BENCH_PARTS", every_part).split(","))
    if "generate" in parts or not (WORK / "sources" / "manifest.json").exists():
        record(f"generate ({SOURCES} + jsonl)", run_stage("generate"))
    if "runs" in parts:
        bench_runs(record, results, history="history" in parts)
    if "extract" in parts:
        bench_extraction(record, results)
    landed = (WORK / "warehouse-embedded" / "warehouse.duckdb").exists()
    if "land" in parts or (parts & {"suites", "dbt", "publish"} and not landed):
        record(f"land all tables ({SOURCES})", run_stage("land_embedded"))
    if "suites" in parts:
        suites = run_stage("suites")
        record("quality suites (full load)", suites)
        print(f"    as a nightly load of a day's rows: {suites['nightly_seconds']:.1f} s; slowest tables:")
        for name, seconds in list(suites["tables"].items())[:4]:
            print(f"      {name:<40} {seconds:>8.2f} s")
    if "dbt" in parts:
        dbt = run_stage("dbt")
        record("dbt build (customers)", dbt)
        print(
            f"    dbt start-up {dbt['startup_seconds']:.1f} s, tests {dbt['tests_seconds']:.1f} s, "
            f"dbt peak {dbt['dbt_peak_rss_mib']:,.0f} MiB; slowest models:"
        )
        for model, seconds in list(dbt["models"].items())[:8]:
            print(f"      {model:<40} {seconds:>8.2f} s")

    if "publish" in parts:
        published = run_stage("publish")
        record("publish: DuckDB file + Parquet", published)
        print(f"    again, nothing changed: {published['again_seconds']:.1f} s")
        print(f"    with PostgreSQL as well: {published['with_postgres_seconds']:.1f} s")

    stages = (f"land all tables ({SOURCES})", "quality suites (full load)", "dbt build (customers)")
    if all(name in results for name in stages):
        share = results[stages[1]]["seconds"] / sum(results[name]["seconds"] for name in stages)
        results["suites share of the run"] = {"ratio": round(share, 3)}
        print(f"  quality suites take {share:.1%} of a full run (landing + suites + dbt build)")

    if "backfill" in parts:
        print(f"  backfill of {BACKFILL_DAYS} days at {BACKFILL_CUSTOMERS:,} customers (rows = as-of dates):")
        record(f"{BACKFILL_DAYS}-day backfill, one run", run_stage("backfill_one_run"))
        record(f"{BACKFILL_DAYS} single-day runs", run_stage("backfill_daily_runs"))
        ratio = (
            results[f"{BACKFILL_DAYS} single-day runs"]["seconds"]
            / results[f"{BACKFILL_DAYS}-day backfill, one run"]["seconds"]
        )
        results["daily runs / one backfill run"] = {"ratio": round(ratio, 2)}
        print(f"  {BACKFILL_DAYS} single-day runs take {ratio:.1f}x as long as one backfill run")

    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    path = out / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"customers": CUSTOMERS, "results": results}, indent=2) + "\n")
    print(f"figures saved to {path}")


if __name__ == "__main__":
    main()
