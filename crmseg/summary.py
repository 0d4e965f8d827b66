"""The short text summary `crmseg run` and `make demo` print: who is in which segment, and their revenue, and
what the strategies achieved (SPEC section 9); the same as Markdown for the Dagster UI, and the queries the
report shares.

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


def latest_effects(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """strategy_effects of the latest complete window of each horizon: as_of_date, horizon_days, strategy_group,
    treatment and control customers, their repurchase rates, the lift with its interval, the revenue lift with
    its interval, significant."""
    return con.execute(
        """SELECT CAST(as_of_date AS VARCHAR), horizon_days, strategy_group, treatment_customers, control_customers,
                  treatment_repurchase_rate, control_repurchase_rate, repurchase_lift, repurchase_lift_low,
                  repurchase_lift_high, revenue_lift, revenue_lift_low, revenue_lift_high, significant
           FROM marts.strategy_effects
           WHERE (horizon_days, as_of_date) IN (
               SELECT (horizon_days, max(as_of_date)) FROM marts.strategy_effects GROUP BY horizon_days)
           ORDER BY horizon_days, strategy_group"""
    ).fetchall()


def formatted(value: float | None, pattern: str) -> str:
    """The value in the format, or n/a for a null (a group without customers on one side has no lift)."""
    return "n/a" if value is None else format(value, pattern)


OUTCOME_DATES_SHOWN = 8  # the latest as-of dates of the 30-day outcomes over time


def recent_outcomes(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str], dict[tuple[str, str], float]]:
    """The 30-day repurchase rate per strategy group (treatment and control together) of the latest as-of dates with
    a complete window: the dates, the groups and the rate of each (date, group)."""
    rows = con.execute(
        f"""SELECT CAST(as_of_date AS VARCHAR), segment, sum(buyers) / sum(customers)
            FROM marts.segment_outcomes
            WHERE dimension = 'strategy_group' AND horizon_days = 30 AND as_of_date IN (
                SELECT DISTINCT as_of_date FROM marts.segment_outcomes WHERE horizon_days = 30
                ORDER BY as_of_date DESC LIMIT {OUTCOME_DATES_SHOWN})
            GROUP BY ALL ORDER BY 1, 2"""
    ).fetchall()
    dates, groups = sorted({row[0] for row in rows}), sorted({row[1] for row in rows})
    return dates, groups, {(when, group): rate for when, group, rate in rows}


def outcomes_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """recent_outcomes as a Markdown table, for the Dagster UI."""
    dates, groups, rates = recent_outcomes(con)
    if not dates:
        return "**Outcomes**: no complete 30-day window yet."
    lines = [
        "**Bought within 30 days, by strategy group** (treatment and control together)",
        "",
        "| as of | " + " | ".join(groups) + " |",
        "|---|" + "--:|" * len(groups),
    ]
    lines += [
        f"| {when} | " + " | ".join(formatted(rates.get((when, g)), ".1%") for g in groups) + " |" for when in dates
    ]
    return "\n".join(lines)


def effect_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """strategy_effects of the latest window of each horizon as a Markdown table, for the Dagster UI."""
    rows = latest_effects(con)
    if not rows:
        return "**Strategy effects**: no complete outcome window yet (the first comes 30 days after a run's date)."
    lines = [
        "**Strategy effects: treatment against control, latest complete window of each horizon**",
        "",
        "| as of | days | group | treatment | control | repurchase lift (95%) | revenue lift per customer (95%) |"
        " significant |",
        "|---|--:|---|--:|--:|---|---|---|",
    ]
    for as_of, days, group, n_t, n_c, _, _, lift, low, high, revenue, revenue_low, revenue_high, significant in rows:
        lines.append(
            f"| {as_of} | {days} | {group} | {n_t:,} | {n_c:,} | {formatted(lift, '+.1%')} "
            f"({formatted(low, '+.1%')} to {formatted(high, '+.1%')}) | {formatted(revenue, '+,.0f')} "
            f"({formatted(revenue_low, '+,.0f')} to {formatted(revenue_high, '+,.0f')}) "
            f"| {'yes' if significant else 'no'} |"
        )
    return "\n".join(lines)


def moves_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """customer_moves summed per dimension and move, for the Dagster UI."""
    rows = con.execute(
        """SELECT CAST(min(previous_date) AS VARCHAR), CAST(min(as_of_date) AS VARCHAR), dimension, from_segment,
                  to_segment, count(*)
           FROM marts.customer_moves WHERE dimension IN ('strategy_group', 'lifecycle_stage')
           GROUP BY ALL ORDER BY dimension DESC, 6 DESC, from_segment, to_segment"""
    ).fetchall()
    if not rows:
        return "**Customer moves**: none (no earlier date in the history, or nobody changed segment)."
    lines = [
        f"**Customer moves from {rows[0][0]} to {rows[0][1]}** (strategy group and lifecycle stage)",
        "",
        "| dimension | from | to | customers |",
        "|---|---|---|--:|",
    ]
    lines += [f"| {dimension} | {a} | {b} | {n:,} |" for _, _, dimension, a, b, n in rows]
    return "\n".join(lines)


def effect_summary(warehouse: Path) -> str:
    """The repurchase lift of each strategy group in the latest complete window of each horizon, in a few lines."""
    with duck.connect(warehouse, read_only=True) as con:
        rows = latest_effects(con)
    if not rows:
        return "strategy effects: no complete outcome window yet (the first is 30 days after a date in the history)"
    lines = ["strategy effects (repurchase lift, treatment - control, 95% interval):"]
    for as_of, days, group, _, _, _, _, lift, low, high, *_, significant in rows:
        lines.append(
            f"  {days:>3} days after {as_of}  {group:<11} {formatted(lift, '+6.1%')} "
            f"({formatted(low, '+.1%')} to {formatted(high, '+.1%')}){'  significant' if significant else ''}"
        )
    return "\n".join(lines)
