"""Draw docs/bench-cost.svg, the README's plot, from the figures `make bench` printed (bench/figures.csv).

    .venv/bin/python -m bench.plot

Each row of the CSV is one figure of one bench run: the panel series it belongs to (size: one bench at each number
of customers; history: next nights at 1M after histories of different lengths), customers, as-of dates in the
history, the run (floor, first, next), its seconds, the floor's seconds on the same day, the peak memory in GB
(the CLI process and dbt together) and which bench measured it. A test fails when the plot and the CSV
disagree.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "bench" / "figures.csv"
PLOT = ROOT / "docs" / "bench-cost.svg"
COLOURS = {"floor": "#9aa5b1", "first": "#2f6fdf", "next": "#0f766e"}
LABELS = {"floor": "floor (hand-written DuckDB)", "first": "first full run", "next": "the next night"}
PANEL_W, PANEL_H, MARGIN = 300, 220, 46


def figures() -> list[dict]:
    with FIGURES.open(newline="") as f:
        return [
            {**row, **{k: float(row[k]) for k in ("customers", "history_dates", "seconds", "floor_seconds", "peak_gb")}}
            for row in csv.DictReader(f)
        ]


Series = dict[str, list[tuple[float, float]]]


def panel(left: float, title: str, x_label: str, series: Series, log_x: bool) -> list[str]:
    """A line per series, x on a log scale when log_x, y from 0; its title and axis labels."""
    points = [p for line in series.values() for p in line]
    xs = [math.log10(x) if log_x else x for x, _ in points]
    x_lo, x_hi = min(xs), max(xs)
    x_lo, x_hi = (x_lo - 0.5, x_hi + 0.5) if x_lo == x_hi else (x_lo - 0.1 * (x_hi - x_lo), x_hi + 0.1 * (x_hi - x_lo))
    y_hi = max(y for _, y in points) * 1.15

    def at(x: float, y: float) -> tuple[float, float]:
        u = ((math.log10(x) if log_x else x) - x_lo) / (x_hi - x_lo)
        return left + MARGIN + u * PANEL_W, MARGIN + (1 - y / y_hi) * PANEL_H

    parts = [
        f'<text x="{left + MARGIN}" y="20" font-weight="600">{title}</text>',
        f'<rect x="{left + MARGIN}" y="{MARGIN}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#d9e2ec"/>',
        f'<text x="{left + MARGIN + PANEL_W / 2}" y="{MARGIN + PANEL_H + 34}" text-anchor="middle">{x_label}</text>',
    ]
    for x in sorted({x for x, _ in points}):
        u, _ = at(x, 0)
        label = f"{x / 1e6:g}M" if log_x and x >= 1e6 else (f"{x / 1e3:g}k" if log_x else f"{x:g}")
        parts.append(f'<text x="{u:.1f}" y="{MARGIN + PANEL_H + 16}" text-anchor="middle">{label}</text>')
    for tick in (0.0, y_hi / 2 / 1.15, y_hi / 1.15):
        _, v = at(points[0][0], tick)
        parts.append(f'<text x="{left + MARGIN - 6}" y="{v + 4:.1f}" text-anchor="end">{tick:.3g}</text>')
    for name, line in series.items():
        coords = [at(x, y) for x, y in sorted(line)]
        path = " ".join(f"{u:.1f},{v:.1f}" for u, v in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS[name]}" stroke-width="2.5"/>')
        parts += [f'<circle cx="{u:.1f}" cy="{v:.1f}" r="3.5" fill="{COLOURS[name]}"/>' for u, v in coords]
    return parts


def svg() -> str:
    rows = figures()
    sizes = [r for r in rows if r["series"] == "size"]
    by_size = {run: [(r["customers"], r["seconds"]) for r in sizes if r["run"] == run] for run in COLOURS}
    memory = {run: [(r["customers"], r["peak_gb"]) for r in sizes if r["run"] == run] for run in COLOURS}
    nights = [r for r in rows if r["series"] == "history"]
    history = {"next": [(r["history_dates"], r["seconds"] / r["floor_seconds"]) for r in nights]}
    width, height = 3 * (PANEL_W + 2 * MARGIN), PANEL_H + 2 * MARGIN + 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        *panel(0, "Time (s) against customers", "customers (log scale)", by_size, log_x=True),
        *panel(PANEL_W + 2 * MARGIN, "Peak memory (GB) against customers", "customers (log scale)", memory, True),
        *panel(2 * (PANEL_W + 2 * MARGIN), "Next night / floor at 1M", "as-of dates kept", history, log_x=False),
    ]
    for i, (run, label) in enumerate(LABELS.items()):
        x = MARGIN + i * 220
        parts += [
            f'<rect x="{x}" y="{height - 18}" width="14" height="4" fill="{COLOURS[run]}"/>',
            f'<text x="{x + 20}" y="{height - 12}">{label}</text>',
        ]
    return "\n".join([*parts, "</svg>"]) + "\n"


def main() -> None:
    PLOT.write_text(svg())
    print(f"wrote {PLOT}")


if __name__ == "__main__":
    main()
