"""The `crmseg` command: generate demo sources, run the pipeline, backfill, demo, open the UI.

Runs go through Dagster (`execute_in_process`) on the persistent instance in
`$DAGSTER_HOME` (default `$CRMSEG_DATA_DIR/dagster`), so every run the CLI
starts shows in `make dev`. An expected failure prints one line naming what
failed and exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from crmseg.duck import WriterLock
from crmseg.errors import CrmsegError
from crmseg.report import report_path
from crmseg.settings import Settings
from crmseg.summary import effect_summary, quality_summary, segment_summary
from orchestration.alerts import step_failure

PROJECT_DIR = Path(__file__).resolve().parent.parent
PUBLISHED = "serving/crmseg"  # the publish asset
GENERATED = "# Written by crmseg"
# CRMSEG_DAGSTER_POSTGRES_URL as dagster-postgres reads it (with the psycopg2 driver); set by the CLI for
# itself and for `make dev`, so the URL and its password stay in the environment, never in dagster.yaml
DAGSTER_STORAGE_VAR = "CRMSEG_DAGSTER_STORAGE_URL"
PLANNED_EVENTS_VAR = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
DEMO_DAYS = 31  # the demo builds the month up to yesterday: the first date's 30-day outcome window is complete


def dagster_yaml(settings: Settings, home: Path) -> str:
    """The instance's configuration: storage in SQLite beside it, or in PostgreSQL when configured.

    In SQLite, the event log is Dagster's own databases, written through connections kept open
    (orchestration/event_log.py). The PostgreSQL URL is read from the environment by Dagster itself, never written
    to the file.
    """
    lines = [
        f"{GENERATED} from the environment; remove this line to keep your own changes.",
        "telemetry:",
        "  enabled: false",
    ]
    if settings.dagster_postgres_url:
        lines += ["storage:", "  postgres:", "    postgres_url:", f"      env: {DAGSTER_STORAGE_VAR}"]
    else:  # where Dagster keeps it by default
        lines += ["event_log_storage:", "  module: orchestration.event_log", "  class: KeptOpenSqliteEventLogStorage"]
        lines += ["  config:", f"    base_dir: {json.dumps(str(home / 'history' / 'runs'))}"]
    # the marts and the published tables carry freshness policies (assets/publish.py)
    lines += ["freshness:", "  enabled: true"]
    return "\n".join(lines) + "\n"


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    seconds: float
    failure: str | None = None
    materialized: dict[str, dict] = field(default_factory=dict)  # asset key -> metadata values


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance the UI shows: `$DAGSTER_HOME`, or the data dir's own."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home)))
    home.mkdir(parents=True, exist_ok=True)
    # a run of a range of dates plans each asset once for the range, not once a date: once a date, a 365-day
    # backfill wrote 20,635 planned events, one at a time, before its first step (6.5 minutes on SQLite storage).
    # Dagster then does not mark the range's dates failed when the run fails (the run shows failed); "false" does
    os.environ.setdefault(PLANNED_EVENTS_VAR, "true")
    config = home / "dagster.yaml"
    if settings.dagster_postgres_url:
        try:
            url = sa.make_url(settings.dagster_postgres_url).set(drivername="postgresql+psycopg2")
        except sa.exc.ArgumentError:
            raise CrmsegError("CRMSEG_DAGSTER_POSTGRES_URL: not a PostgreSQL URL (postgresql://user@host/db)") from None
        os.environ[DAGSTER_STORAGE_VAR] = url.render_as_string(hide_password=False)
    # two commands started at once on a new instance must not both create its storage
    with WriterLock(home / "instance"):
        current = config.read_text() if config.exists() else None
        wanted = dagster_yaml(settings, home)
        if current != wanted and (current is None or current.startswith(GENERATED)):
            config.write_text(wanted)
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)  # creates the storage, if new
    return instance


def parse_vars(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CrmsegError(f"--vars is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(value, dict):
        raise CrmsegError("--vars must be a JSON object, e.g. '{\"rfm_window_days\": 180}'")
    return value


def check_partition(settings: Settings, day: date, what: str) -> str:
    first = date.fromisoformat(settings.start_date)
    last = settings.yesterday()
    if not first <= day <= last:
        raise CrmsegError(
            f"{what} {day} is outside the partitions {first} .. {last} "
            f"(CRMSEG_START_DATE to yesterday in {settings.timezone})"
        )
    return day.isoformat()


def execute(
    settings: Settings,
    *,
    as_of: date | None = None,
    start: date | None = None,
    end: date | None = None,
    dbt_vars: dict | None = None,
    full_refresh: bool = False,
    extract_config: dict | None = None,
    verbose: bool = False,
    quiet: bool = False,
) -> RunOutcome:
    """One run of `nightly_segmentation`: one as-of date, or a range of dates as a single run.

    It prints each step as it finishes (orchestration/progress.py); `verbose` prints Dagster's own log
    instead, and `quiet` nothing.
    """
    from assets.extract import extract_assets
    from orchestration.definitions import DBT_OP, JOB_NAME, build_definitions
    from orchestration.progress import Progress

    progress = None if quiet or verbose else Progress(steps=0)
    defs = build_definitions(settings, {"progress": progress.logger_definition()} if progress else None)
    job = defs.resolve_job_def(JOB_NAME)
    if start is not None and end is not None:
        if start > end:
            raise CrmsegError(f"backfill --start {start} is after --end {end}")
        first, last = check_partition(settings, start, "--start"), check_partition(settings, end, "--end")
    else:
        first = last = check_partition(settings, as_of or settings.yesterday(), "--as-of")
    if progress:  # each table landed, each dbt model built (once per chunk of dates), the publish
        progress.steps = len(defs.resolve_all_asset_keys())
        progress.dbt_steps = len(next(a for a in defs.assets if getattr(a, "op", None) and a.op.name == DBT_OP).keys)
    tags = {"crmseg/launched_by": "cli", "crmseg/as_of_dates": f"{first}..{last}"}
    if dbt_vars:
        tags["crmseg/dbt_vars"] = json.dumps(dbt_vars, sort_keys=True)
    partition_key = None
    if first == last:
        partition_key = first
    else:  # a range of partitions as one run
        tags["dagster/asset_partition_range_start"] = first
        tags["dagster/asset_partition_range_end"] = last
    loggers: dict = {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}
    if progress:
        loggers["progress"] = {}
    run_config: dict = {
        "loggers": loggers,
        "ops": {DBT_OP: {"config": {"vars": json.dumps(dbt_vars or {}, sort_keys=True), "full_refresh": full_refresh}}},
    }
    extract_config = {**(extract_config or {}), **({"full_refresh": True} if full_refresh else {})}
    if extract_config:
        run_config["ops"].update({asset.op.name: {"config": extract_config} for asset in extract_assets})
    started = time.monotonic()
    # dbt's progress goes to stdout; quiet unless asked (each build keeps its log in $CRMSEG_DATA_DIR/dbt/target/)
    # the instance is disposed of after the run: its event log's connections are closed (orchestration/event_log.py)
    with contextlib.redirect_stdout(sys.stdout if verbose else io.StringIO()), dagster_instance(settings) as instance:
        try:
            result = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                partition_key=partition_key,
                tags=tags,
                raise_on_error=False,
            )
        finally:
            if progress:
                progress.close()
    outcome = RunOutcome(result.run_id, result.success, time.monotonic() - started)
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        outcome.materialized[materialization.asset_key.to_user_string()] = {
            name: getattr(value, "value", value) for name, value in materialization.metadata.items()
        }
    if not result.success:
        outcome.failure = first_failure(result)
    return outcome


def first_failure(result: dg.ExecuteInProcessResult) -> str:
    return step_failure(result.get_step_failure_events()) or "the run failed before any step (see it in `make dev`)"


def print_outcome(outcome: RunOutcome, what: str, settings: Settings) -> None:
    status = "succeeded" if outcome.success else "FAILED"
    print(f"{what} {status} in {outcome.seconds:.1f}s (run {outcome.run_id})")
    report = report_path(settings.reports_dir, outcome.run_id)
    if report.exists():
        print(f"  report: {report}")
    models = 0
    published = outcome.materialized.get(PUBLISHED)
    for key, metadata in sorted(outcome.materialized.items()):
        if key == PUBLISHED:
            continue
        if "rows_extracted" not in metadata:
            models += 1
            continue
        print(
            f"  {key:<32} {metadata['dagster/row_count']:>10,} rows  "
            f"({metadata['mode']} load, {metadata['rows_extracted']:,} extracted)"
        )
    if models:
        print(f"  dbt: {models} models, snapshots and seeds built")
    if published:
        print(
            f"  published {published['as_of_date']} ({published['dagster/row_count']:,} customers; "
            f"history: {published['history_dates_written']} of {published['history_dates']} dates written) "
            f"to {published['file']}, Parquet in {published['parquet']}, PostgreSQL: {published['postgres']}"
        )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from crmseg.generate import GenerateOptions, generate

    options = GenerateOptions(
        out=Path(args.out),
        customers=args.customers,
        seed=args.seed,
        end_date=args.end_date or settings.yesterday(),
        crm_url=args.crm_url,
        erp_url=args.erp_url,
        dirty_rate=args.dirty_rate,
        timezone=settings.timezone,
    )
    manifest = generate(options)
    total = sum(manifest["rows"].values())
    print(f"generated {args.customers:,} customers, {total:,} rows in {manifest['seconds']:.1f}s into {args.out}")
    for name, rows in manifest["rows"].items():
        print(f"  {name:<28} {rows:>12,}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    outcome = execute(
        settings,
        as_of=args.as_of,
        dbt_vars=parse_vars(args.vars),
        full_refresh=args.full_refresh,
        verbose=args.verbose,
        quiet=args.quiet,
    )
    as_of = (args.as_of or settings.yesterday()).isoformat()
    code = report(outcome, f"run for {as_of}", settings, args.quiet)
    if code == 0 and not args.quiet:
        print_summaries(settings, as_of, outcome.run_id)
    return code


def print_summaries(settings: Settings, as_of: str, run_id: str) -> None:
    # read under the writer lock: a run started meanwhile must not find a reader holding the file
    with WriterLock(settings.warehouse_path):
        print(segment_summary(settings.warehouse_path, as_of))
        print(effect_summary(settings.warehouse_path))
        print(quality_summary(settings.warehouse_path, run_id))


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    outcome = execute(
        settings,
        start=args.start,
        end=args.end,
        dbt_vars=parse_vars(args.vars),
        verbose=args.verbose,
        quiet=args.quiet,
    )
    return report(outcome, f"backfill {args.start} .. {args.end}", settings, args.quiet)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from crmseg.generate import GenerateOptions, generate

    sources = settings.sources_dir
    if (sources / "manifest.json").exists():
        print(f"demo sources: {sources} (already there; delete the folder to generate afresh)")
    else:
        manifest = generate(GenerateOptions(out=sources, end_date=settings.yesterday(), timezone=settings.timezone))
        print(
            f"demo sources: generated {manifest['options']['customers']:,} customers, "
            f"{sum(manifest['rows'].values()):,} rows in {manifest['seconds']:.1f}s into {sources}"
        )
    # a month of as-of dates, so that the demo has a history to compare and a complete 30-day outcome window
    as_of = settings.yesterday()
    first = max(as_of - timedelta(days=DEMO_DAYS - 1), date.fromisoformat(settings.start_date))
    outcome = execute(settings, start=first, end=as_of, verbose=args.verbose)
    code = report(outcome, f"pipeline backfill {first} .. {as_of}", settings)
    as_of = as_of.isoformat()
    if code == 0:
        print_summaries(settings, as_of, outcome.run_id)
        print(f"warehouse: {settings.warehouse_path}")
        print("next: `make dev` opens the Dagster UI with this run; `make test` runs the tests")
    return code


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    dagster_instance(settings)  # the same instance the CLI's runs are recorded in
    os.chdir(PROJECT_DIR)
    command = [str(Path(sys.executable).with_name("dagster")), "dev", "-w", "workspace.yaml", *args.dagster_args]
    print(f"Dagster UI on the instance in {os.environ['DAGSTER_HOME']}")
    os.execv(command[0], command)
    return 0  # not reached


def report(outcome: RunOutcome, what: str, settings: Settings, quiet: bool = False) -> int:
    """The run's outcome; `quiet` prints only a failure (to stderr), for cron."""
    if not quiet:
        print_outcome(outcome, what, settings)
    if outcome.success:
        return 0
    print(f"error: {outcome.failure}", file=sys.stderr)
    return 1


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="crmseg",
        description="Customer segmentation from CRM, ERP and service data. Settings come from CRMSEG_* variables.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="write demo sources for a realistic company")
    generate.add_argument("--out", required=True, help="folder for crm.sqlite, erp.sqlite and service/")
    generate.add_argument("--customers", type=int, default=2000, help="CRM accounts to create (default 2000)")
    generate.add_argument("--seed", type=int, default=42, help="the same seed gives the same data (default 42)")
    generate.add_argument("--end-date", type=_date, help="last day of history (default yesterday)")
    generate.add_argument(
        "--crm-url",
        help="write the CRM tables into this database URL, or into this directory as a folder of Parquet files "
        "per table, instead of crm.sqlite",
    )
    generate.add_argument(
        "--erp-url",
        help="write the ERP tables into this database URL, or into this directory as a folder of Parquet files "
        "per table, instead of erp.sqlite",
    )
    generate.add_argument(
        "--dirty-rate", type=float, default=0.01, help="share of rows given each kind of dirt (default 0.01)"
    )
    generate.set_defaults(handler=cmd_generate)

    run = commands.add_parser("run", help="one run of the whole pipeline for one as-of date")
    run.add_argument("--as-of", type=_date, help="as-of date (default yesterday in CRMSEG_TIMEZONE)")
    run.add_argument("--vars", help="dbt vars as JSON, exactly as `dbt --vars`")
    run.add_argument(
        "--full-refresh", action="store_true", help="reload every source table whole and stage every row again"
    )
    run.set_defaults(handler=cmd_run)

    backfill = commands.add_parser("backfill", help="every as-of date in a range, as one run")
    backfill.add_argument("--start", type=_date, required=True, help="first as-of date")
    backfill.add_argument("--end", type=_date, required=True, help="last as-of date")
    backfill.add_argument("--vars", help="dbt vars as JSON, exactly as `dbt --vars`")
    backfill.set_defaults(handler=cmd_backfill)

    demo = commands.add_parser(
        "demo", help="generate the demo sources if absent, run the month up to yesterday once, print a summary"
    )
    demo.set_defaults(handler=cmd_demo)

    dev = commands.add_parser("dev", help="the Dagster UI on the instance the CLI writes to")
    dev.add_argument("dagster_args", nargs=argparse.REMAINDER, help="passed on to `dagster dev`")
    dev.set_defaults(handler=cmd_dev)

    for command in (run, backfill, demo):
        command.add_argument("--verbose", action="store_true", help="show Dagster's log while running")
    for command in (run, backfill):
        command.add_argument(
            "--quiet", action="store_true", help="print nothing unless the run fails (for cron); exit status as ever"
        )
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.handler(args, settings)
    except CrmsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
