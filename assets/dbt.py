"""The dbt models as Dagster assets: one partition per as-of date, a range of dates in one dbt build."""

import fcntl
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from packaging import version

from assets.publish import published_by_six
from assets.quality import record_checks
from crmseg import clv, duck
from crmseg.quality import ERROR, WARN, CheckOutcome, QualityGateFailed
from crmseg.summary import effect_markdown, moves_markdown, outcomes_markdown, segment_markdown
from orchestration.resources import WarehouseResource

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# the dbt installed beside this Python, whether or not the virtualenv is on PATH
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse, in a target folder


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two things each run paid for and crmseg does not use: `dbt --version` in a
    process of its own (DBT_EXECUTABLE is the dbt-core installed beside this Python, so its version is the package's)
    and a dbt adapter set up in this process (for dagster-dbt's row counts and column metadata; the assets count the
    rows themselves). Together about 5 s of every run."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


class DbtConfig(dg.Config):
    vars: str = "{}"  # dbt vars as JSON, exactly as `dbt --vars`; the as-of dates come from the partitions
    full_refresh: bool = False  # stage every landed row again (`crmseg run --full-refresh`); the history stays


class CrmsegDbtTranslator(DagsterDbtTranslator):
    """Keys mirror where a table lives: raw sources are the extraction assets, models are [schema, name].

    The marts BI reads carry a freshness policy: the nightly run at 02:00 has
    updated them by 06:00 in the business's time zone.
    """

    def __init__(self, timezone: str = "UTC"):
        super().__init__()
        self.timezone = timezone

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.group_name != "marts":
            return spec
        return spec.replace_attributes(freshness_policy=published_by_six(self.timezone))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([f"raw_{dbt_resource_props['source_name']}", dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # the project folder the node sits in: staging, intermediate, quality, marts; seeds are the
        # rules and snapshots the history
        kind = dbt_resource_props["resource_type"]
        return {"seed": "rules", "snapshot": "history"}.get(kind) or dbt_resource_props["fqn"][1]

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]


def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    prepare_manifest(project)
    return project


def prepare_manifest(project: DbtProject) -> None:
    """Parse the project when its manifest is missing or older than a project file.

    Called when the definitions are built, never at import. Processes that build them at the same time (the UI
    and a run, say) parse one after the other, and the later finds the manifest current.
    """
    manifest = project.manifest_path
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with (manifest.parent / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_current(manifest):
            parse_project()


def manifest_is_current(manifest: Path) -> bool:
    sources = [
        p for p in DBT_PROJECT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".csv") and "target" not in p.parts
    ]
    return manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources)


def parse_project() -> None:
    done = subprocess.run(
        [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed: {(done.stdout + done.stderr).strip()[-2000:]}")


def dbt_build_args(
    user_vars: str, full_refresh: bool = False, one_model_at_a_time: bool = False, dates_only: bool = False
) -> list[str]:
    """The `dbt build` command for a range of as-of dates (which it reads from as_of_environment); user vars may not
    set the dates themselves.

    A full refresh rebuilds the incremental staging from every landed row; the history of past runs
    (int_customer_segments, full_refresh=false) is kept. dates_only builds only what depends on the dates
    (dbt_project/selectors.yml: a backfill's later chunks).
    """
    try:
        extra = json.loads(user_vars or "{}")
    except json.JSONDecodeError as exc:
        raise dg.Failure(description=f"dbt vars are not valid JSON: {exc.msg}") from None
    if not isinstance(extra, dict):
        raise dg.Failure(description="dbt vars must be a JSON object")
    clash = sorted(set(extra) & {"as_of_date", "as_of_start", "as_of_end"})
    if clash:
        raise dg.Failure(description=f"dbt vars: {', '.join(clash)} come from the partition; use --as-of or backfill")
    # unit tests prove the rules with their default vars, and the cross-database macro tests the macros, during
    # development (`make test`); a run with other vars must not fail on them, and they would only repeat the same
    # proof every night
    return [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--exclude",
        "tag:cross_db",
        # vars only when the user sets some: dbt parses the whole project again whenever they change
        *(["--vars", json.dumps(extra, sort_keys=True)] if extra else []),
        *(["--full-refresh"] if full_refresh else []),
        # a heavy build runs one model at a time: models running together share DuckDB's memory limit, and a
        # model of several dates, or of every landed row, needs all of it (at 3M customers the staging of the order
        # lines and the identity periods ran out of 3 GB together and fit alone)
        *(["--threads", "1"] if one_model_at_a_time else []),
        # dbt ignores --select and --exclude beside a selector (the selector excludes tag:cross_db too)
        *(["--selector", DATES_SELECTOR] if dates_only else []),
    ]


# the models and tests that depend on the as-of dates (dbt_project/selectors.yml): downstream of DATES_MODEL
DATES_SELECTOR, DATES_MODEL = "run_dates", "model.crmseg.int_as_of_dates"


def downstream(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """The node and every node downstream of it in dbt's graph."""
    found, todo = set(), [unique_id]
    while todo:
        node = todo.pop()
        if node not in found:
            found.add(node)
            todo += manifest["child_map"].get(node, [])
    return found


def as_of_environment(first_date: str, last_date: str) -> dict[str, str]:
    """The as-of dates of a build as dbt_project/macros/as_of.sql reads them when the models run."""
    return {"CRMSEG_AS_OF_START": first_date, "CRMSEG_AS_OF_END": last_date}


# customers times dates one dbt build may hold when CRMSEG_BACKFILL_CHUNK_DAYS is unset, for this much of dbt's
# memory limit (a build of a smaller limit holds fewer): at 1M customers 7 dates fitted DuckDB's 3 GB, 15 did not
BUILD_CUSTOMER_DATES, BUILD_MEMORY_BYTES = 7_000_000, 3 * 10**9


def chunk_days(con, days: int | None) -> int:
    """Dates per dbt build: `days` when set, else as many as keep a build within BUILD_CUSTOMER_DATES for
    BUILD_MEMORY_BYTES of dbt's memory limit: for the customers of the latest date built, or before any, the CRM
    accounts and ERP customers landed (an upper bound)."""
    if days:
        return days
    customers = con.execute(
        "SELECT count(*) FROM intermediate.int_customer_segments "
        "WHERE as_of_date = (SELECT max(as_of_date) FROM intermediate.int_customer_segments)"
        if built_before(con)
        else "SELECT (SELECT count(*) FROM raw_crm.accounts) + (SELECT count(*) FROM raw_erp.customers)"
    ).fetchone()[0]
    customer_dates = BUILD_CUSTOMER_DATES * duck.memory_bytes(duck.dbt_memory_limit()) // BUILD_MEMORY_BYTES
    return max(1, customer_dates // max(customers, 1))


def built_before(con) -> bool:
    """Whether dbt has built the warehouse's segments before (if not, the build stages every landed row)."""
    return con.execute(
        "SELECT count(*) > 0 FROM duckdb_tables() "
        "WHERE schema_name = 'intermediate' AND table_name = 'int_customer_segments'"
    ).fetchone()[0]


def date_chunks(first: str, last: str, days: int) -> list[tuple[str, str]]:
    """first..last as consecutive ranges of at most `days` dates, in date order."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    chunks = []
    while start <= end:
        stop = end if (end - start).days < days else start + timedelta(days=days - 1)
        chunks.append((start.isoformat(), stop.isoformat()))
        start = stop + timedelta(days=1)
    return chunks


# a dbt build's artifacts and log: $CRMSEG_DATA_DIR/dbt/target/<run>-<build>/ (run_results.json, dbt.log, ...)
TARGETS_KEPT = 100


def build_target(data_dir: Path, name: str) -> Path:
    """A new target folder for one dbt build, holding the parse the build before left (dbt parses again only what
    changed since: on a night, nothing), beside the TARGETS_KEPT - 1 latest folders of earlier builds."""
    targets = data_dir / "dbt" / "target"
    targets.mkdir(parents=True, exist_ok=True)
    earlier = sorted((p for p in targets.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in earlier[: max(0, len(earlier) - (TARGETS_KEPT - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    return with_saved_parse(data_dir, targets / name)


def with_saved_parse(data_dir: Path, target: Path) -> Path:
    """The target folder (made if need be) holding the parse the data dir's builds kept (keep_partial_parse): dbt
    parses again only what changed since (`dbt parse` of the whole project 12.9 s, from the kept parse 6.6 s)."""
    target.mkdir(parents=True, exist_ok=True)
    saved = data_dir / "dbt" / "target" / PARTIAL_PARSE
    if saved.exists():
        shutil.copyfile(saved, target / PARTIAL_PARSE)
    return target


def keep_partial_parse(target: Path) -> None:
    """Keep the parse a build wrote for the next build (replaced in one rename)."""
    if (target / PARTIAL_PARSE).exists():
        staged = target.parent / f".{PARTIAL_PARSE}"
        shutil.copyfile(target / PARTIAL_PARSE, staged)
        os.replace(staged, target.parent / PARTIAL_PARSE)


def merged(events: list) -> list:
    """The events of several dbt builds of one selection as one build's: each model's last output, and each test's
    failing result if one failed, else its last."""
    kept: dict = {}
    for event in events:
        if isinstance(event, dg.AssetCheckResult):
            key = (event.asset_key, event.check_name)
            if key in kept and not kept[key].passed:
                continue
        elif isinstance(event, dg.Output):
            key = event.output_name
        else:  # any other event is kept as it came
            key = object()
        kept[key] = event
    return list(kept.values())


def build_dbt_assets(
    partitions: dg.PartitionsDefinition, data_dir: Path, timezone: str, days_per_build: int | None
) -> dg.AssetsDefinition:
    project = dbt_project()
    manifest = json.loads(project.manifest_path.read_text())
    tests = {unique_id: node for unique_id, node in manifest["nodes"].items() if node["resource_type"] == "test"}
    translator = CrmsegDbtTranslator(timezone)
    # the assets a later chunk of a range builds again: those that depend on the dates
    dated = {
        translator.get_asset_key(manifest["nodes"][unique_id])
        for unique_id in downstream(manifest, DATES_MODEL)
        if manifest["nodes"].get(unique_id, {}).get("resource_type") in ("model", "seed", "snapshot")
    }

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        partitions_def=partitions,
        # a range of dates is one run, not one process per day; dbt builds it a chunk of dates at a time
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def crmseg_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtConfig
    ):
        dates = context.partition_key_range
        with warehouse.connect(read_only=True) as con:
            chunks = date_chunks(dates.start, dates.end, chunk_days(con, days_per_build))
            first_build = not built_before(con)
        env = {"CRMSEG_DATA_DIR": str(data_dir), "CRMSEG_TIMEZONE": timezone}
        env |= duck.resource_environment()  # the limits dbt_project/profiles.yml reads
        events: list = []  # kept until dbt has ended and released the warehouse, then given row counts
        failure: DagsterDbtCliRuntimeError | None = None
        # the first chunk builds every selected asset; when all are selected, a later chunk only those that depend on
        # the dates, since the rest (staging, identity, ...) would come out the same from the same landings (at 1M
        # customers about 20 s a chunk); a subset is built whole in every chunk
        whole = set(context.selected_asset_keys) == set(context.assets_def.keys) and set(
            context.selected_asset_check_keys
        ) == set(context.assets_def.check_keys)
        again = dated if whole else set(context.selected_asset_keys)
        try:
            with _environment(env):
                built, to_build = 0, len(context.selected_asset_keys) + (len(chunks) - 1) * len(again)
                # the full refresh restages every landed row once, in the first chunk
                for number, (first, last) in enumerate(chunks):
                    if len(chunks) > 1:
                        context.log.info(f"chunk {number + 1} of {len(chunks)}: dbt builds {first} .. {last}")
                    full_refresh = config.full_refresh and number == 0
                    heavy = first != last or full_refresh or (first_build and number == 0)
                    dates_only = whole and number > 0
                    args = dbt_build_args(config.vars, full_refresh, one_model_at_a_time=heavy, dates_only=dates_only)
                    target = build_target(data_dir, f"{context.run.run_id[:8]}-{number + 1}")
                    with _environment(as_of_environment(first, last)):
                        for event in dbt.cli(args, context=context, target_path=target).stream():
                            if isinstance(event, dg.Output):
                                built += 1
                                key = context.asset_key_for_output(event.output_name)
                                context.log.info(f"dbt {built} of {to_build}: {'.'.join(key.path)}")
                            events.append(event)
                    keep_partial_parse(target)
        except DagsterDbtCliRuntimeError as exc:
            failure = exc
        events = merged(events)
        outcomes = [test_outcome(event, tests) for event in events if isinstance(event, dg.AssetCheckResult)]
        if failure is None:
            with warehouse.connect(read_only=True) as con:
                outcomes += clv.fit_checks(con, dates.start, dates.end)
        record_checks(context, warehouse, outcomes)
        output_keys = {context.asset_key_for_output(e.output_name) for e in events if isinstance(e, dg.Output)}
        with warehouse.connect(read_only=True) as con:
            staged = staged_rows(con) if RECONCILIATION in output_keys else {}
            for event in events:
                key = context.asset_key_for_output(event.output_name) if isinstance(event, dg.Output) else None
                yield with_counts(con, event, key, staged)
        if failure is not None:
            if any(outcome.blocks for outcome in outcomes):
                raise dg.Failure(description=str(QualityGateFailed(outcomes))) from None
            raise failure

    return crmseg_dbt_models


# the build's count of every landed row, staged or rejected, per source table (quality/raw_reconciliation.sql)
RECONCILIATION = dg.AssetKey(["quality", "raw_reconciliation"])


def staged_rows(con) -> dict[dg.AssetKey, int]:
    """The row count of each staged view as the build's reconciliation counted it: counting a view again finds
    each key's current row among all the rows its base table holds (at 1M customers 1.7 to 2.0 s for the eight)."""
    rows = con.execute("SELECT source_table, staged_rows FROM quality.raw_reconciliation").fetchall()
    return {dg.AssetKey(["staging", "stg_" + table.replace(".", "__")]): count for table, count in rows}


def with_counts(con, event, key: dg.AssetKey | None, staged: Mapping[dg.AssetKey, int]):
    """A table's materialisation with its row count (a staged view's as the same build's reconciliation counted
    it: staged); the segments' with a Markdown summary of the date they hold, the outcomes', the strategy effects'
    and the moves' with theirs (SPEC section 9).

    customer_segments holds the latest date of the history, which a run of earlier dates leaves as it was.
    """
    if key is None:
        return event
    schema, name = key.path
    count = staged.get(key)
    if count is None:
        count = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
    metadata = {"dagster/row_count": count}
    if (schema, name) == ("marts", "customer_segments"):
        latest = con.execute("SELECT CAST(max(as_of_date) AS VARCHAR) FROM marts.customer_segments").fetchone()[0]
        metadata["summary"] = dg.MetadataValue.md(segment_markdown(con, latest))
    if (schema, name) == ("marts", "segment_outcomes"):
        metadata["summary"] = dg.MetadataValue.md(outcomes_markdown(con))
    if (schema, name) == ("marts", "strategy_effects"):
        metadata["summary"] = dg.MetadataValue.md(effect_markdown(con))
    if (schema, name) == ("marts", "customer_moves"):
        metadata["summary"] = dg.MetadataValue.md(moves_markdown(con))
    return event.with_metadata({**event.metadata, **metadata})


def test_outcome(result: dg.AssetCheckResult, tests: Mapping[str, Any]) -> CheckOutcome:
    """A dbt test's result as a quality outcome: failing rows are what the test returned.

    The severity is the test's own: dagster-dbt calls every passing test an error-severity one.
    """
    metadata = {name: getattr(value, "value", value) for name, value in result.metadata.items()}
    test = tests[metadata["unique_id"]]
    return CheckOutcome(
        table=".".join(result.asset_key.path),
        check=result.check_name,
        check_type=f"dbt test {test['test_metadata']['name'] if test.get('test_metadata') else 'singular'}",
        column=test.get("column_name"),
        severity=WARN if test["config"]["severity"].lower() == "warn" else ERROR,
        passed=result.passed,
        rows=None,
        unexpected_count=int(metadata.get("dagster_dbt/failed_row_count") or 0),
    )


class _environment:
    """Set variables for the dbt process the block starts, and put the old values back."""

    def __init__(self, values: dict[str, str]):
        self.values, self.saved = values, {}

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
