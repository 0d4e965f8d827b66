"""The short text summary `crmseg run` and `make demo` print: who is in which segment, and their revenue.

The dimensions are those marts.segment_summary counts over (the dbt project's segment_dimensions), read
from the table rather than listed again here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from crmseg import duck


def segment_rows(con: duckdb.DuckDBPyConnection, as_of_date: str) -> list[tuple]:
    return con.execute(
        "SELECT dimension, segment, customers, share_of_customers, share_of_revenue "
        "FROM marts.segment_summary WHERE as_of_date = ? ORDER BY dimension, customers DESC, segment",
        [as_of_date],
    ).fetchall()


def segment_markdown(con: duckdb.DuckDBPyConnection, as_of_date: str) -> str:
    """The same summary as a Markdown table, for the Dagster UI."""
    lines = [
        f"**Segments as of {as_of_date}**",
        "",
        "| dimension | segment | customers | share | revenue |",
        "|---|---|--:|--:|--:|",
    ]
    lines += [
        f"| {dimension} | {segment} | {customers:,} | {share:.1%} | {revenue:.1%} |"
        for dimension, segment, customers, share, revenue in segment_rows(con, as_of_date)
    ]
    return "\n".join(lines)


def segment_summary(warehouse: Path, as_of_date: str) -> str:
    with duck.connect(warehouse, read_only=True) as con:
        rows = segment_rows(con, as_of_date)
    if not rows:
        return f"no segments for {as_of_date}"
    lines = [f"segments as of {as_of_date}:"]
    for dimension in dict.fromkeys(row[0] for row in rows):  # in the order segment_rows gives
        lines.append(f"  {dimension:<22} {'customers':>10} {'share':>7} {'revenue':>8}")
        for _, segment, customers, share, revenue_share in (r for r in rows if r[0] == dimension):
            lines.append(f"    {segment:<20} {customers:>10,} {share:>7.1%} {revenue_share:>8.1%}")
    return "\n".join(lines)


def quality_summary(warehouse: Path, run_id: str) -> str:
    """The run's checks and the rows kept out of the models, in a few lines."""
    with duck.connect(warehouse, read_only=True) as con:
        checks = con.execute(
            "SELECT severity, passed, count(*) FROM _crmseg.data_quality_results WHERE run_id = ? GROUP BY ALL",
            [run_id],
        ).fetchall()
        warnings = con.execute(
            """SELECT table_name || ' ' || check_name,
                      coalesce(nullif(observed, ''), format('{:,} rows', unexpected_count))
               FROM _crmseg.data_quality_results WHERE run_id = ? AND NOT passed
               ORDER BY unexpected_count DESC""",
            [run_id],
        ).fetchall()
        rejected = con.execute("SELECT count(*) FROM quality.rejected_rows").fetchone()[0]
    counts = {(severity, passed): n for severity, passed, n in checks}
    lines = [
        f"quality: {counts.get(('error', True), 0)} blocking checks passed, "
        f"{counts.get(('warn', True), 0)} warnings clear, {len(warnings)} raised; "
        f"{rejected:,} rows rejected with reasons (quality.rejected_rows)"
    ]
    lines += [f"  warning {name}: {what}" for name, what in warnings[:8]]
    return "\n".join(lines)
