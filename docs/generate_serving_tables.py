"""Write docs/serving-tables.md from the dbt project's own descriptions (and exposures).

    .venv/bin/python docs/generate_serving_tables.py

A test fails when the page and the project disagree, so the page is rewritten
with the change that moves them apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "serving-tables.md"
MARTS = ROOT / "dbt_project" / "models" / "marts"
sys.path.insert(0, str(ROOT))

# data_quality_results is written by crmseg, not dbt: its columns are described here
QUALITY_COLUMNS = [
    ("run_id", "varchar", "The Dagster run that ran the check."),
    ("as_of_date", "date", "The run's as-of date (the last one, for a backfill)."),
    ("checked_at", "timestamptz", "When the check ran."),
    (
        "table_name",
        "varchar",
        "What was checked: a source table (erp.sales_orders) or a model (marts.customer_segments).",
    ),
    ("check_name", "varchar", "The check's short name, unique per table (customer_code_not_null, volume, freshness)."),
    ("check_type", "varchar", "The Great Expectations expectation, the dbt test, or model fit (section 8)."),
    ("column_name", "varchar", "The column checked, if one."),
    ("severity", "varchar", "error (blocks the run and publishing) or warn (recorded and shown)."),
    ("passed", "boolean", "Whether the check passed."),
    ("rows_checked", "bigint", "Rows the check read, where it reads rows."),
    ("unexpected_count", "bigint", "Rows that failed it."),
    ("unexpected_percent", "double", "Failing rows as a percentage of the rows checked."),
    ("observed", "varchar", "What a table-level check saw (a row count, the newest change)."),
    ("expected", "varchar", "What it wanted."),
    ("sample", "varchar", "A few failing values; personal values are masked."),
]


def page() -> str:
    from crmseg.publish import SERVING_TABLES

    documents = [yaml.safe_load(p.read_text()) for p in sorted(MARTS.glob("_*.yml"))]
    models = {m["name"]: m for d in documents for m in d.get("models", [])}
    exposures = [e for d in documents for e in d.get("exposures", [])]
    lines = [
        "# Serving tables",
        "",
        "Written by `docs/generate_serving_tables.py` from the dbt project's descriptions; do not edit by hand.",
        "The same tables, with the same columns, are in `$CRMSEG_DATA_DIR/serving/crmseg.duckdb`, in",
        "`$CRMSEG_DATA_DIR/serving/parquet/<table>.parquet` (the history: a folder of `<as-of date>.parquet` files)",
        "and, when configured, in PostgreSQL schema `crmseg`.",
        "`_published` (run_id, as_of_date, published_at) says which run and date they hold. See [bi.md](bi.md).",
        "",
    ]
    for table in SERVING_TABLES:
        if table in models:
            model = models[table]
            description = " ".join(model["description"].split())
            columns = [
                (c["name"], c.get("data_type", ""), " ".join(c.get("description", "").split()))
                for c in model["columns"]
            ]
        else:
            description = "One row per check per run: Great Expectations suites, dbt tests and drift checks."
            columns = QUALITY_COLUMNS
        feeds = [e["label"] for e in exposures if any(f"'{table}'" in d for d in e["depends_on"])]
        lines += [f"## {table}", "", description, ""]
        if feeds:
            lines += [f"Feeds: {', '.join(feeds)}.", ""]
        lines += ["| Column | Type | Meaning |", "|---|---|---|"]
        lines += [f"| `{name}` | {type_} | {text} |" for name, type_, text in columns]
        lines.append("")
    lines += ["## Dashboards", ""]
    for exposure in exposures:
        tables = ", ".join(d.split("'")[1] for d in exposure["depends_on"])
        lines.append(f"- **{exposure['label']}** ({exposure['type']}, {exposure['owner']['name']}): "
                     f"{' '.join(exposure['description'].split())} Reads {tables}.")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    PAGE.write_text(page())
    print(f"wrote {PAGE}")
