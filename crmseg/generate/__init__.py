"""`crmseg generate`: demo sources for a realistic company, the same for the same seed.

Customers are built in chunks (numpy), rendered to rows (DuckDB), dirtied at
the configured rate and appended to the sinks, so memory stays flat from a
hundred customers to a million. `manifest.json` beside the sources records
what was written and every piece of dirt that was planted.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from crmseg import contract, duck
from crmseg.generate import company, dirty, effect, render, sinks

CHUNK_SIZE = 100_000
ERP_ONLY_SHARE = 0.03  # customers who buy without ever appearing in the CRM


@dataclass(frozen=True)
class GenerateOptions:
    out: Path
    customers: int = 2000
    seed: int = 42
    end_date: date | None = None
    crm_url: str | None = None
    erp_url: str | None = None
    dirty_rate: float = 0.01
    timezone: str = "Asia/Shanghai"


def generate(options: GenerateOptions) -> dict:
    if options.customers < 1:
        raise ValueError("--customers must be at least 1")
    if not 0 <= options.dirty_rate < 0.2:
        raise ValueError("--dirty-rate must be in [0, 0.2)")
    started = time.monotonic()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    end_date = options.end_date
    seeds = np.random.SeedSequence(options.seed)
    campaign_seed, dirt_seed, *chunk_seeds = seeds.spawn(2 + -(-options.customers // CHUNK_SIZE))
    cumulative = company.seasonal_cumulative(end_date)
    rows: dict[str, int] = {t.qualified: 0 for t in contract.TABLES}
    counts = dirty.new_counts()
    archetypes: dict[str, int] = {}

    with duck.connect(timezone=options.timezone) as con:
        targets = {
            "crm": sinks.sink_for("crm", options.crm_url, out),
            "erp": sinks.sink_for("erp", options.erp_url, out),
            "service": sinks.sink_for("service", None, out),
        }
        for sink in targets.values():
            sink.prepare(con)
        campaigns = company.campaigns(np.random.default_rng(campaign_seed))
        render.render_campaigns(con, campaigns, end_date - timedelta(days=company.HISTORY_DAYS))
        targets["crm"].append(con, contract.table("crm.campaigns"), "gen_campaigns")
        rows["crm.campaigns"] = len(campaigns)

        dirt_rng = np.random.default_rng(dirt_seed)
        counters = render.Counters()
        for number, chunk_seed in enumerate(chunk_seeds):
            first = number * CHUNK_SIZE
            count = min(CHUNK_SIZE, options.customers - first)
            erp_only = int(count * ERP_ONLY_SHARE + 0.5)
            chunk = company.build_chunk(
                np.random.default_rng(chunk_seed),
                first,
                count,
                erp_only,
                options.customers + counters.erp_only,
                cumulative,
            )
            counters.erp_only += erp_only
            for name, n in zip(*np.unique(chunk.accounts["archetype"], return_counts=True), strict=True):
                label = company.ARCHETYPES[name].name
                archetypes[label] = archetypes.get(label, 0) + int(n)
            render.render_chunk(con, chunk, campaigns, end_date, counters)
            dirty.plant(con, dirt_rng, options.dirty_rate, end_date, counts)
            for table in contract.TABLES:
                if table.name == "campaigns":
                    continue
                rendered = dirty.gen_table(table.qualified)
                targets[table.source].append(con, table, rendered)
                rows[table.qualified] += con.execute(f"SELECT count(*) FROM {rendered}").fetchone()[0]
                con.execute(f"DROP TABLE {rendered}")
        for sink in targets.values():
            sink.finish(con)

    manifest = {
        "options": {**asdict(options), "out": str(out), "end_date": end_date.isoformat()},
        "rows": rows,
        "dirty": {kind: dict(per_column) for kind, per_column in counts.items()},
        "archetypes": dict(sorted(archetypes.items())),
        "planted_customers": len(company.PLANTED),
        "planted_effect": effect.manifest(
            end_date.isoformat(), (end_date - timedelta(days=effect.EFFECT_DAYS - 1)).isoformat()
        ),
        "seconds": round(time.monotonic() - started, 3),
    }
    for key in ("crm_url", "erp_url"):
        if manifest["options"][key] and "://" in manifest["options"][key]:
            manifest["options"][key] = sinks.engine_url(manifest["options"][key]).render_as_string(hide_password=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest
