"""The README's plot is drawn from the figures `make bench` printed, and from nothing else."""

from bench import plot


def test_the_readme_plot_shows_the_recorded_figures():
    assert plot.PLOT.read_text() == plot.svg(), "run: .venv/bin/python -m bench.plot"
    runs = {(row["customers"], row["run"]) for row in plot.figures() if row["series"] == "size"}
    assert {(c, run) for c in (100_000, 1_000_000) for run in ("floor", "first", "next")} <= runs
