"""The per-run HTML report: one self-contained file that opens offline (no scripts, no CDN).

It is rewritten whenever the run records more results, so a run that stops
at a failed check still leaves a report saying why.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb

from crmseg import charts
from crmseg.quality import RESULTS_TABLE
from crmseg.summary import formatted, latest_effects, recent_outcomes

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1f2933; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d9e2ec; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #eef2f6; vertical-align: top; }
td { overflow-wrap: anywhere; } td.sample { max-width: 16em; font-size: 12px; color: #52606d; }
th { background: #f0f4f8; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.fail { color: #b42318; font-weight: 600; } .warn { color: #b54708; font-weight: 600; } .pass { color: #027a48; }
.status { display: inline-block; padding: .3em .8em; border-radius: 4px; font-weight: 600; }
h3 { font-size: 1em; margin-top: 1.2em; } svg text { font: 12px system-ui, sans-serif; fill: #1f2933; }
.status.fail { background: #fee4e2; } .status.warn { background: #fef0c7; } .status.pass { background: #d1fadf; }
"""


def report_path(reports_dir: str | Path, run_id: str) -> Path:
    return Path(reports_dir) / f"run-{run_id}.html"


def write_run_report(
    con: duckdb.DuckDBPyConnection, reports_dir: str | Path, run_id: str, segments_as_of: str | None = None
) -> Path:
    """The report of the run so far; with `segments_as_of` (once published), the segments of that date first."""
    path = report_path(reports_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = [segments_section(con, segments_as_of)] if segments_as_of else []
    body = "\n".join([*sections, quality_section(con, run_id), rejected_section(con)])
    as_of = segments_as_of or _one(con, f"SELECT max(as_of_date) FROM {RESULTS_TABLE} WHERE run_id = ?", [run_id])
    title = f"crmseg run {run_id[:8]}" + (f", as of {as_of}" if as_of else "")
    html = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n<h1>{escape(title)}</h1>\n"
        f"<p>Run <code>{escape(run_id)}</code>.</p>\n{body}\n</body></html>\n"
    )
    temporary = path.with_suffix(".tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(path)  # a reader never opens half a report
    return path


def segments_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    """Strategy groups, value tiers, the RFM grid, the ABC Pareto curve, the lifecycle funnel and the latest moves.

    Labels, actions and the order of the lifecycle stages come from the playbook seeds (schema rules), the one
    place they are written.
    """
    sections = (
        strategy_section, value_tier_section, rfm_section, abc_section, lifecycle_section, predicted_value_section,
        moves_section, effects_section, worklist_section,
    )  # fmt: skip
    return "\n".join(section(con, as_of) for section in sections)


def strategy_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    strategy = con.execute(
        """SELECT a.strategy_group, min(a.strategy_label_en), min(a.strategy_label_zh), count(*),
                  min(a.resource_share), min(p.actions_en), min(p.actions_zh),
                  count(*) FILTER (WHERE a.treatment_group = 'control')
           FROM marts.strategy_assignments AS a JOIN rules.strategy_playbook AS p USING (strategy_group)
           WHERE a.as_of_date = ? GROUP BY a.strategy_group ORDER BY 4 DESC""",
        [as_of],
    ).fetchall()
    return "\n".join(
        [
            f"<h2>Strategy groups</h2><p>{sum(r[3] for r in strategy):,} customers as of {escape(as_of)}; "
            "customers without marketing consent get the group's service, no marketing. The control group "
            f"({sum(r[7] for r in strategy):,} customers) gets no marketing action because of its group, so that "
            "the strategies' effect can be measured against it.</p>",
            "<table><tr><th>Group</th><th>Customers</th><th>Of them control</th><th>Resource share</th>"
            "<th>Actions</th></tr>",
            *(
                f'<tr><td>{escape(en)} ({escape(zh)})</td><td class="n">{n:,}</td><td class="n">{control:,}</td>'
                f'<td class="n">{share:.0%}</td><td>{escape(actions_en)} ({escape(actions_zh)})</td></tr>'
                for _, en, zh, n, share, actions_en, actions_zh, control in strategy
            ),
            "</table>",
            "<h3>Customers per group</h3>",
            charts.bars([(row[1], row[3]) for row in strategy]),
            "<h3>Resource share per group</h3>",
            charts.bars([(row[1], round(100 * row[4], 1)) for row in strategy], unit="%", color=charts.SHARE),
        ]
    )


def value_tier_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    tiers = con.execute(
        """SELECT p.label_en, p.label_zh, coalesce(s.customers, 0), coalesce(s.share_of_revenue, 0),
                  p.actions_en, p.actions_zh
           FROM rules.value_tier_playbook AS p
           LEFT JOIN marts.segment_summary AS s
             ON s.dimension = 'value_tier' AND s.segment = p.value_tier AND s.as_of_date = ?
           ORDER BY s.share_of_revenue DESC NULLS LAST""",
        [as_of],
    ).fetchall()
    return "\n".join(
        [
            "<h2>Value tiers</h2><p>Scored customers by their revenue in the last 365 days and their tenure.</p>",
            "<table><tr><th>Tier</th><th>Customers</th><th>Share of revenue</th><th>Service</th></tr>",
            *(
                f'<tr><td>{escape(en)} ({escape(zh)})</td><td class="n">{n:,}</td><td class="n">{share:.1%}</td>'
                f"<td>{escape(actions_en)} ({escape(actions_zh)})</td></tr>"
                for en, zh, n, share, actions_en, actions_zh in tiers
            ),
            "</table>",
        ]
    )


def rfm_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    grid = con.execute(
        "SELECT r_score, fm_score, count(*) FROM marts.customer_segments WHERE r_score IS NOT NULL GROUP BY ALL"
    ).fetchall()
    counts = {(int(r), int(fm)): n for r, fm, n in grid}
    segments = con.execute(
        """SELECT s.dimension, labels.label_en, labels.label_zh, s.customers, s.share_of_revenue
           FROM marts.segment_summary AS s
           JOIN (SELECT DISTINCT 'rfm_segment' AS dimension, rfm_segment AS segment, label_en, label_zh
                 FROM rules.rfm_segment_grid
                 UNION ALL
                 SELECT 'rfm_segment_cn8', rfm_segment_cn8, label_en, label_zh FROM rules.rfm_cn8_types) AS labels
             ON s.dimension = labels.dimension AND s.segment = labels.segment
           WHERE s.as_of_date = ? ORDER BY s.dimension, s.share_of_revenue DESC""",
        [as_of],
    ).fetchall()
    return "\n".join(
        [
            "<h2>RFM grid</h2><p>Scored customers by recency score (rows) and the FM score (columns).</p>",
            charts.heat_map(counts, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], "R", "FM"),
            "<table><tr><th>Segment</th><th>Customers</th><th>Share of revenue</th></tr>",
            *(
                f'<tr><td>{escape(en)} ({escape(zh)})</td><td class="n">{n:,}</td><td class="n">{share:.1%}</td></tr>'
                for dimension, en, zh, n, share in segments
                if dimension == "rfm_segment"
            ),
            "</table>",
            "<h3>The eight classic types (RFM above or below the mean)</h3>",
            "<table><tr><th>Type</th><th>Customers</th><th>Share of revenue</th></tr>",
            *(
                f'<tr><td>{escape(zh)} ({escape(en)})</td><td class="n">{n:,}</td><td class="n">{share:.1%}</td></tr>'
                for dimension, en, zh, n, share in segments
                if dimension == "rfm_segment_cn8"
            ),
            "</table>",
        ]
    )


def abc_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    points = con.execute(
        """WITH ranked AS (
               SELECT row_number() OVER (ORDER BY monetary DESC, customer_key) AS n, count(*) OVER () AS total,
                      sum(monetary) OVER (ORDER BY monetary DESC, customer_key ROWS UNBOUNDED PRECEDING) AS running,
                      sum(monetary) OVER () AS revenue
               FROM marts.customer_segments WHERE r_score IS NOT NULL)
           SELECT n / total, CAST(running / nullif(revenue, 0) AS DOUBLE) FROM ranked
           WHERE n % greatest(total // 200, 1) = 0 OR n = total ORDER BY n"""
    ).fetchall()
    classes = con.execute(
        "SELECT abc_class, count(*) FROM marts.customer_segments WHERE abc_class IS NOT NULL GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return (
        "<h2>ABC (Pareto)</h2><p>"
        + ", ".join(f"class {escape(c)}: {n:,} customers" for c, n in classes)
        + ". Classes end where the cumulative revenue passes the dashed lines.</p>\n"
        + charts.pareto([(float(x), float(y or 0)) for x, y in points], marks=[0.8, 0.95])
    )


def lifecycle_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    stages = con.execute(
        """SELECT p.label_en, p.label_zh, count(c.customer_key), p.actions_en, p.actions_zh
           FROM rules.lifecycle_playbook AS p LEFT JOIN marts.customer_segments AS c USING (lifecycle_stage)
           GROUP BY ALL ORDER BY min(p.stage_order)"""
    ).fetchall()
    return "\n".join(
        [
            "<h2>Lifecycle</h2>",
            charts.bars([(en, n) for en, _, n, _, _ in stages], css="bars funnel"),
            "<table><tr><th>Stage</th><th>Customers</th><th>Actions</th></tr>",
            *(
                f'<tr><td>{escape(en)} ({escape(zh)})</td><td class="n">{n:,}</td>'
                f"<td>{escape(actions_en)} ({escape(actions_zh)})</td></tr>"
                for en, zh, n, actions_en, actions_zh in stages
            ),
            "</table>",
        ]
    )


AT_RISK_SHOWN = 15  # customers listed with the most revenue at risk


def predicted_value_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    """SPEC section 8 for a sales manager: next year's predicted value against last year's revenue, who is still
    buying by lifecycle stage, and the customers whose revenue is most at risk."""
    fits = con.execute(
        "SELECT model, customers, parameters IS NOT NULL, converged, reason FROM marts.model_fits "
        "WHERE as_of_date = ? ORDER BY model",
        [as_of],
    ).fetchall()
    title = "<h2>Predicted value</h2>"
    not_fitted = [f"{model}: {reason}" for model, _, fitted, _, reason in fits if not fitted]
    if not fits or not_fitted:
        why = "; ".join(not_fitted) or "no fit for this date"
        return f"{title}\n<p>No prediction as of {escape(as_of)}: {escape(why)}.</p>"
    groups = con.execute(
        """SELECT strategy_group, count(*), sum(annual_revenue), sum(predicted_clv_365d),
                  count(*) FILTER (WHERE potential_class = 'rising'),
                  count(*) FILTER (WHERE potential_class = 'falling')
           FROM marts.customer_segments WHERE predicted_clv_365d IS NOT NULL GROUP BY ALL ORDER BY 4 DESC"""
    ).fetchall()
    alive = con.execute(
        """SELECT min(p.label_en), avg(c.p_alive), count(c.p_alive)
           FROM rules.lifecycle_playbook AS p JOIN marts.customer_segments AS c USING (lifecycle_stage)
           WHERE c.p_alive IS NOT NULL GROUP BY p.lifecycle_stage ORDER BY min(p.stage_order)"""
    ).fetchall()
    at_risk = con.execute(
        f"""SELECT coalesce(crm_account_id, erp_customer_code), strategy_group, lifecycle_stage,
                   annual_revenue, p_alive, predicted_clv_365d, annual_revenue * (1 - p_alive) AS at_risk
            FROM marts.customer_segments WHERE p_alive IS NOT NULL AND annual_revenue > 0
            ORDER BY at_risk DESC, customer_key LIMIT {AT_RISK_SHOWN}"""
    ).fetchall()
    last_year = sum(float(r[2]) for r in groups)
    next_year = sum(r[3] for r in groups)
    change = f"{next_year / last_year - 1:+.0%}" if last_year else "n/a"
    return "\n".join(
        [
            title,
            f"<p>The models predict <b>{next_year:,.0f} CNY</b> from the {sum(r[1] for r in groups):,} customers "
            f"who have bought, in the 365 days after {escape(as_of)}, against {last_year:,.0f} CNY in the 365 days "
            f"before ({change}). A customer is <i>rising</i> when its prediction exceeds last year's revenue by more "
            "than the margin, <i>falling</i> when it is below by more.</p>",
            "<table><tr><th>Strategy group</th><th>Customers</th><th>Last 365 days, CNY</th>"
            "<th>Next 365 days (predicted), CNY</th><th>Rising</th><th>Falling</th></tr>",
            *(
                f'<tr><td>{escape(group)}</td><td class="n">{n:,}</td><td class="n">{float(last):,.0f}</td>'
                f'<td class="n">{nxt:,.0f}</td><td class="n">{up:,}</td><td class="n">{down:,}</td></tr>'
                for group, n, last, nxt, up, down in groups
            ),
            "</table>",
            "<h3>Still buying? Average p_alive by lifecycle stage</h3>",
            "<p>The chance that a customer still buys from us, from the pattern of its purchase days. A customer "
            "who has bought on one day only counts as alive until it buys again (a property of the model).</p>",
            charts.bars([(label, round(100 * value, 1)) for label, value, _ in alive], unit="%", color=charts.LINE),
            f"<h3>Most revenue at risk (the top {AT_RISK_SHOWN})</h3>",
            "<p>Last year's revenue times the chance the customer has stopped buying.</p>",
            "<table><tr><th>CRM account / ERP code</th><th>Group</th><th>Stage</th>"
            "<th>Last 365 days, CNY</th><th>p_alive</th><th>Predicted next 365 days, CNY</th>"
            "<th>At risk, CNY</th></tr>",
            *(
                f"<tr><td><code>{escape(ident or '')}</code></td><td>{escape(group)}</td>"
                f'<td>{escape(stage)}</td><td class="n">{float(revenue):,.0f}</td><td class="n">{p:.2f}</td>'
                f'<td class="n">{clv:,.0f}</td><td class="n">{risk:,.0f}</td></tr>'
                for ident, group, stage, revenue, p, clv, risk in at_risk
            ),
            "</table>",
        ]
    )


def moves_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    moves = con.execute(
        """SELECT from_date, from_segment, to_segment, customers FROM marts.segment_transitions
           WHERE dimension = 'strategy_group' AND to_date = ? ORDER BY customers DESC""",
        [as_of],
    ).fetchall()
    if not moves:
        return "<h2>Moves since the previous date</h2>\n<p>No earlier date in the history to compare with.</p>"
    return "\n".join(
        [
            "<h2>Moves since the previous date</h2>",
            f"<p>Strategy groups on {moves[0][0]} against {escape(as_of)}.</p>",
            "<table><tr><th>From</th><th>To</th><th>Customers</th></tr>",
            *(
                f"<tr><td>{escape(a or 'not a customer')}</td><td>{escape(b or 'gone')}</td>"
                f'<td class="n">{n:,}</td></tr>'
                for _, a, b, n in moves
            ),
            "</table>",
        ]
    )


def effects_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    """SPEC section 9 for a marketing analyst: did each strategy group's actions make its customers buy again,
    against its control group, in the latest complete window of each horizon; and the outcomes over time."""
    title = "<h2>Strategy effects: treatment against control</h2>"
    effects = latest_effects(con)
    if not effects:
        return (
            f"{title}\n<p>No complete outcome window as of {escape(as_of)}: a window of h days after an as-of date "
            "D is complete on D + h, so the first comes when the run of a date 30 days after one in the history "
            "(or a backfill over it) has run.</p>"
        )
    rows = []
    for when, days, group, n_t, n_c, rate_t, rate_c, lift, low, high, revenue, r_low, r_high, significant in effects:
        rows.append(
            f'<tr><td>{escape(when)}</td><td class="n">{days}</td><td>{escape(group)}</td>'
            f'<td class="n">{n_t:,}</td><td class="n">{n_c:,}</td><td class="n">{formatted(rate_t, ".1%")}</td>'
            f'<td class="n">{formatted(rate_c, ".1%")}</td><td class="n">{formatted(lift, "+.1%")} '
            f"({formatted(low, '+.1%')} to {formatted(high, '+.1%')})</td>"
            f'<td class="n">{formatted(revenue, "+,.0f")} '
            f"({formatted(r_low, '+,.0f')} to {formatted(r_high, '+,.0f')})</td>"
            f"<td>{'<b>yes</b>' if significant else 'no'}</td></tr>"
        )
    charts_by_horizon = []
    for days in sorted({row[1] for row in effects}):
        shown = [r for r in effects if r[1] == days and r[7] is not None]
        charts_by_horizon += [
            f"<h3>Repurchase lift in the {days} days after {escape(shown[0][0] if shown else '')}, 95% interval</h3>",
            charts.intervals([(r[2], round(100 * r[7], 1), 100 * r[8], 100 * r[9]) for r in shown]),
        ]
    return "\n".join(
        [
            title,
            "<p>Each strategy group's control customers got no marketing action because of their group; the lift is "
            "how much more often the treated customers bought (repurchase rate, treatment minus control) and how "
            "much more they spent per customer, in the window of h days after the as-of date. The intervals are "
            "95% (normal approximation); <i>significant</i> means the repurchase interval excludes 0. Shown: the "
            "latest complete window of each horizon.</p>",
            "<table><tr><th>As of</th><th>Days</th><th>Group</th><th>Treatment</th><th>Control</th>"
            "<th>Bought (treatment)</th><th>Bought (control)</th><th>Repurchase lift (95%)</th>"
            "<th>Revenue lift per customer, CNY (95%)</th><th>Significant</th></tr>",
            *rows,
            "</table>",
            *charts_by_horizon,
            outcomes_over_time(con),
        ]
    )


def outcomes_over_time(con: duckdb.DuckDBPyConnection) -> str:
    """The 30-day repurchase rate of each strategy group (treatment and control together) for the latest dates."""
    dates, groups, rates = recent_outcomes(con)
    return "\n".join(
        [
            "<h3>Outcomes over time: bought within 30 days, by strategy group</h3>",
            "<table><tr><th>As of</th>" + "".join(f"<th>{escape(g)}</th>" for g in groups) + "</tr>",
            *(
                f"<tr><td>{escape(when)}</td>"
                + "".join(f'<td class="n">{formatted(rates.get((when, g)), ".1%")}</td>' for g in groups)
                + "</tr>"
                for when in dates
            ),
            "</table>",
        ]
    )


def worklist_section(con: duckdb.DuckDBPyConnection, as_of: str) -> str:
    """customer_moves summed: how many customers just became at risk, high value, churned, ... and of which kind."""
    moves = con.execute(
        """SELECT CAST(min(previous_date) AS VARCHAR), dimension, to_segment, count(*)
           FROM marts.customer_moves WHERE dimension IN ('strategy_group', 'lifecycle_stage')
           GROUP BY dimension, to_segment ORDER BY dimension DESC, 4 DESC, to_segment"""
    ).fetchall()
    title = "<h2>Worklist: customers who just moved</h2>"
    if not moves:
        return f"{title}\n<p>Nobody moved (or there is no earlier date in the history to compare with).</p>"
    return "\n".join(
        [
            title,
            f"<p>Customers whose strategy group or lifecycle stage changed from {escape(moves[0][0])} to "
            f"{escape(as_of)}, one row each in <code>customer_moves</code> (with the CRM account, for account "
            "managers and the CRM).</p>",
            "<table><tr><th>Dimension</th><th>Just became</th><th>Customers</th></tr>",
            *(
                f'<tr><td>{escape(dimension)}</td><td>{escape(to)}</td><td class="n">{n:,}</td></tr>'
                for _, dimension, to, n in moves
            ),
            "</table>",
        ]
    )


def quality_section(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    rows = con.execute(
        f"""SELECT table_name, check_name, check_type, column_name, severity, passed, rows_checked,
                   unexpected_count, unexpected_percent, observed, expected, sample
            FROM {RESULTS_TABLE} WHERE run_id = ?
            ORDER BY passed, severity, table_name, check_name""",
        [run_id],
    ).fetchall()
    blocking = sum(1 for r in rows if r[4] == "error" and not r[5])
    warnings = sum(1 for r in rows if r[4] == "warn" and not r[5])
    if blocking:
        status = f'<span class="status fail">{blocking} blocking check(s) failed: nothing was published</span>'
    elif warnings:
        status = f'<span class="status warn">every blocking check passed; {warnings} warning(s)</span>'
    else:
        status = '<span class="status pass">every check passed</span>'
    lines = [
        "<h2>Data quality</h2>",
        f"<p>{status}</p>",
        f"<p>{len(rows)} checks: {sum(1 for r in rows if r[5])} passed, {blocking} blocking failures, "
        f"{warnings} warnings.</p>",
        "<table><tr><th>Result</th><th>Table</th><th>Check</th><th>Column</th><th>Failing rows</th>"
        "<th>Observed</th><th>Sample</th></tr>",
    ]
    for table, check, check_type, column, severity, passed, checked, count, percent, observed, expected, sample in rows:
        result = "pass" if passed else ("fail" if severity == "error" else "warn")
        label = "passed" if passed else ("FAILED" if severity == "error" else "warning")
        failing = f"{count:,}" + (f" of {checked:,} ({percent:.1f}%)" if checked else "") if count else ""
        seen = f"{observed} (expected {expected})" if observed else ""
        lines.append(
            f'<tr><td class="{result}">{label}</td><td>{escape(table)}</td>'
            f'<td title="{escape(check_type or "")}">{escape(check)}</td><td>{escape(column or "")}</td>'
            f'<td class="n">{failing}</td><td>{escape(seen)}</td>{sample_cell(sample)}</tr>'
        )
    lines.append("</table>")
    return "\n".join(lines)


SAMPLE_SHOWN = 120  # characters of a sample shown in the table; the whole of it on hover


def sample_cell(sample: str | None) -> str:
    """A sample kept short enough that the table stays readable, whatever its length."""
    text = sample or ""
    shown = text if len(text) <= SAMPLE_SHOWN else text[: SAMPLE_SHOWN - 1].rstrip(", ") + "…"
    return f'<td class="sample" title="{escape(text)}">{escape(shown)}</td>'


def rejected_section(con: duckdb.DuckDBPyConnection) -> str:
    """Rows kept out of the models, by table and reason, as the latest model build left them."""
    if not _one(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'quality' AND table_name = 'rejected_rows'",
    ):
        return ""
    rows = con.execute(
        """SELECT source_table, reason, count(*) AS rows
           FROM (SELECT source_table, unnest(string_split(reject_reasons, ';')) AS reason FROM quality.rejected_rows)
           GROUP BY ALL ORDER BY source_table, rows DESC"""
    ).fetchall()
    lines = [
        "<h2>Rejected rows</h2>",
        "<p>Rows that could not be staged, kept with their reasons in <code>quality.rejected_rows</code> "
        "(a row may carry several reasons), as the latest model build left them.</p>",
        "<table><tr><th>Table</th><th>Reason</th><th>Rows</th></tr>",
    ]
    lines += [f'<tr><td>{escape(t)}</td><td>{escape(r)}</td><td class="n">{n:,}</td></tr>' for t, r, n in rows]
    lines.append("</table>")
    return "\n".join(lines)


def _one(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None):
    return con.execute(sql, parameters or []).fetchone()[0]
