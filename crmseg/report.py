"""The per-run HTML report: one self-contained file that opens offline (no scripts, no CDN).

It is rewritten whenever the run records more results, so a run that stops
at a failed check still leaves a report saying why.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb

from crmseg.quality import RESULTS_TABLE

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1f2933; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d9e2ec; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #eef2f6; vertical-align: top; }
th { background: #f0f4f8; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.fail { color: #b42318; font-weight: 600; } .warn { color: #b54708; font-weight: 600; } .pass { color: #027a48; }
.status { display: inline-block; padding: .3em .8em; border-radius: 4px; font-weight: 600; }
.status.fail { background: #fee4e2; } .status.warn { background: #fef0c7; } .status.pass { background: #d1fadf; }
"""


def report_path(reports_dir: str | Path, run_id: str) -> Path:
    return Path(reports_dir) / f"run-{run_id}.html"


def write_run_report(con: duckdb.DuckDBPyConnection, reports_dir: str | Path, run_id: str) -> Path:
    path = report_path(reports_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join([quality_section(con, run_id), rejected_section(con)])
    as_of = _one(con, f"SELECT max(as_of_date) FROM {RESULTS_TABLE} WHERE run_id = ?", [run_id])
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
            f'<td class="n">{failing}</td><td>{escape(seen)}</td><td>{escape(sample or "")}</td></tr>'
        )
    lines.append("</table>")
    return "\n".join(lines)


def rejected_section(con: duckdb.DuckDBPyConnection) -> str:
    """Rows kept out of the models, by table and reason, as the latest model build left them."""
    if not _one(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'quality' AND table_name = 'rejected_rows'",
    ):
        return ""
    rows = con.execute(
        """SELECT source_table, reason, count(*) AS rows
           FROM (SELECT source_table, unnest(reject_reasons) AS reason FROM quality.rejected_rows)
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
