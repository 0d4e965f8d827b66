"""The short text summary `crmseg run` and `make demo` print: who is in which segment, and their revenue."""

from __future__ import annotations

from pathlib import Path

from crmseg import duck

DIMENSIONS = ("strategy_group", "rfm_segment", "abc_class", "value_tier", "lifecycle_stage")


def segment_summary(warehouse: Path, as_of_date: str) -> str:
    with duck.connect(warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT dimension, segment, customers, share_of_customers, share_of_revenue "
            "FROM marts.segment_summary WHERE as_of_date = ? ORDER BY dimension, customers DESC, segment",
            [as_of_date],
        ).fetchall()
    if not rows:
        return f"no segments for {as_of_date}"
    lines = [f"segments as of {as_of_date}:"]
    for dimension in DIMENSIONS:
        lines.append(f"  {dimension:<22} {'customers':>10} {'share':>7} {'revenue':>8}")
        for _, segment, customers, share, revenue_share in (r for r in rows if r[0] == dimension):
            lines.append(f"    {segment:<20} {customers:>10,} {share:>7.1%} {revenue_share:>8.1%}")
    return "\n".join(lines)
