"""The README's plot is drawn from the figures `make bench` printed, and from nothing else; the bench's peak
memory counts the processes it starts."""

import subprocess
import sys

from bench import plot
from bench.run import TogetherPeak


def test_the_readme_plot_shows_the_recorded_figures():
    assert plot.PLOT.read_text() == plot.svg(), "run: .venv/bin/python -m bench.plot"
    runs = {(row["customers"], row["run"]) for row in plot.figures() if row["series"] == "size"}
    assert {(c, run) for c in (100_000, 1_000_000) for run in ("floor", "first", "next")} <= runs


def test_the_peak_memory_of_a_run_counts_its_child_processes_with_it():
    hold = "import time; block = bytearray(400 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(1.5)"
    with TogetherPeak(every=0.1) as together:
        subprocess.run([sys.executable, "-c", hold], check=True)
    assert together.mib > 400
