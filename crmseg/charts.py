"""Charts for the run report as inline SVG: they render offline, in any browser, with no script."""

from __future__ import annotations

from html import escape

BAR = "#2f6fdf"
SHARE = "#f59e0b"
LINE = "#0f766e"
GRID = "#d9e2ec"


def bars(rows: list[tuple[str, float]], *, unit: str = "", css: str = "bars", color: str = BAR) -> str:
    """Horizontal bars, one per (label, value), longest = the largest value."""
    if not rows:
        return "<p>No data.</p>"
    width, label_width, height = 720, 200, 26
    top = max(value for _, value in rows) or 1
    parts = [f'<svg class="{css}" width="{width}" height="{height * len(rows) + 4}" role="img">']
    for i, (label, value) in enumerate(rows):
        y = i * height + 2
        length = (width - label_width - 90) * value / top
        parts += [
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>',
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{height - 8}" '
            f'fill="{color}"/>',
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}">{_number(value)}{unit}</text>',
        ]
    return "\n".join([*parts, "</svg>"])


def heat_map(
    counts: dict[tuple[int, int], int], rows: list[int], columns: list[int], row_name: str, column_name: str
) -> str:
    """A grid of counts, darker for more: rows top to bottom from the highest, columns left to right."""
    cell, margin = 64, 48
    top = max(counts.values(), default=0) or 1
    width, height = margin + cell * len(columns), margin + cell * len(rows)
    parts = [f'<svg class="heat-map" width="{width + 8}" height="{height + 8}" role="img">']
    for i, row in enumerate(sorted(rows, reverse=True)):
        parts.append(f'<text x="{margin - 10}" y="{i * cell + cell / 2 + 5}" text-anchor="end">{row_name} {row}</text>')
        for j, column in enumerate(sorted(columns)):
            count = counts.get((row, column), 0)
            strength = count / top
            fill = f"rgb({int(239 - 192 * strength)},{int(246 - 135 * strength)},{int(255 - 32 * strength)})"
            text = "#ffffff" if strength > 0.55 else "#1f2933"
            x, y = margin + j * cell, i * cell
            parts += [
                f'<rect class="cell" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}"/>',
                f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 5}" text-anchor="middle" '
                f'fill="{text}">{count:,}</text>',
            ]
    for j, column in enumerate(sorted(columns)):
        parts.append(
            f'<text x="{margin + j * cell + cell / 2}" y="{height + 4}" '
            f'text-anchor="middle">{column_name} {column}</text>'
        )
    return "\n".join([*parts, "</svg>"])


def pareto(points: list[tuple[float, float]], marks: list[float]) -> str:
    """Cumulative share of revenue (y) against share of customers (x), with horizontal marks (0.8, 0.95)."""
    width, height, margin = 640, 320, 44
    plot_w, plot_h = width - 2 * margin, height - 2 * margin

    def at(x: float, y: float) -> str:
        return f"{margin + x * plot_w:.1f},{margin + (1 - y) * plot_h:.1f}"

    parts = [f'<svg class="pareto" width="{width}" height="{height}" role="img">']
    parts.append(f'<rect x="{margin}" y="{margin}" width="{plot_w}" height="{plot_h}" fill="none" stroke="{GRID}"/>')
    for mark in marks:
        y = margin + (1 - mark) * plot_h
        parts += [
            f'<line x1="{margin}" x2="{margin + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{SHARE}" stroke-dasharray="4 3"/>',
            f'<text x="{margin + plot_w + 4}" y="{y + 4:.1f}">{mark:.0%}</text>',
        ]
    line = " ".join(at(x, y) for x, y in [(0.0, 0.0), *points])
    parts += [
        f'<polyline class="curve" points="{line}" fill="none" stroke="{LINE}" stroke-width="3"/>',
        f'<text x="{margin + plot_w / 2}" y="{height - 8}" '
        'text-anchor="middle">share of scored customers, by revenue</text>',
        f'<text x="12" y="{margin - 12}">share of revenue</text>',
        "</svg>",
    ]
    return "\n".join(parts)


def intervals(rows: list[tuple[str, float, float, float]], *, unit: str = "%") -> str:
    """A point and its interval per (label, value, low, high) on one horizontal scale, with a line at zero: an
    interval clear of the line is a difference that is not chance."""
    if not rows:
        return "<p>No data.</p>"
    width, label_width, height, right = 720, 200, 28, 70
    low = min(0.0, *(r[2] for r in rows))
    high = max(0.0, *(r[3] for r in rows))
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return label_width + (width - label_width - right) * (value - low) / span

    total = height * len(rows) + 24
    parts = [
        f'<svg class="intervals" width="{width}" height="{total}" role="img">',
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="0" y2="{total - 20}" stroke="{GRID}" stroke-width="2"/>',
        f'<text x="{x(0):.1f}" y="{total - 4}" text-anchor="middle">0</text>',
    ]
    for i, (label, value, lo, hi) in enumerate(rows):
        y = i * height + 14
        parts += [
            f'<text x="{label_width - 8}" y="{y + 4}" text-anchor="end">{escape(label)}</text>',
            f'<line class="interval" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{y}" y2="{y}" stroke="{LINE}" '
            'stroke-width="3"/>',
            f'<circle class="point" cx="{x(value):.1f}" cy="{y}" r="5" fill="{BAR}"/>',
            f'<text x="{width - right + 8}" y="{y + 4}">{_number(value)}{unit}</text>',
        ]
    return "\n".join([*parts, "</svg>"])


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
