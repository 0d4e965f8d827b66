"""What a run is doing while it does it: each step as it finishes, with the time since the run began.

The assets say what they finished in their log (a table landed and checked, a dbt model k of N built, the
tables published); `Progress` is a Dagster logger that prints those messages, warnings and failures. On a terminal
a bar at the bottom shows how far the run is; when the output goes to a file or a pipe (cron, a scheduler's
log) every line is plain text and printed as it happens.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import TextIO

import dagster as dg

BAR_WIDTH = 24


class Progress(logging.Handler):
    def __init__(self, steps: int, stream: TextIO | None = None):
        """steps: what the run will finish (tables landed, dbt models, publish), for the bar."""
        super().__init__(level=logging.INFO)
        self.stream = stream or sys.stdout
        self.steps, self.done = max(steps, 1), 0
        self.dbt_steps = 0  # of the steps, dbt models: a backfill built in chunks of dates builds each once per chunk
        self.started = time.monotonic()
        self.bar = self.stream.isatty()

    def logger_definition(self) -> dg.LoggerDefinition:
        def build(_init_context) -> logging.Logger:
            logger = logging.getLogger(f"crmseg.progress.{id(self)}")
            logger.handlers, logger.propagate = [self], False
            logger.setLevel(logging.INFO)
            return logger

        return dg.LoggerDefinition(build, description="each finished step, with the time since the run began")

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", {}) or {}
        event = meta.get("dagster_event")
        if event is not None and event.event_type_value == "STEP_FAILURE":
            self.line(f"failed: {meta.get('step_key')}: {event.step_failure_data.error_display_string.strip()}")
            return
        message = meta.get("orig_message") if event is None else None
        if not message:
            return
        finished = message.startswith(("dbt ", "published ")) or " load of " in message
        dbt_steps = re.match(r"dbt \d+ of (\d+):", message)
        if dbt_steps:  # "dbt k of N": N counts the models of every chunk
            self.steps += int(dbt_steps[1]) - self.dbt_steps
            self.dbt_steps = int(dbt_steps[1])
        if finished:
            self.done = min(self.done + 1, self.steps)
        if finished or record.levelno >= logging.WARNING:
            self.line(message)

    def line(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        stamp = f"[{int(elapsed // 60):02d}:{elapsed % 60:04.1f}]"
        if not self.bar:
            print(f"{stamp} {text}", file=self.stream, flush=True)
            return
        filled = BAR_WIDTH * self.done // self.steps
        bar = "█" * filled + "░" * (BAR_WIDTH - filled)
        print(f"\r\033[K{stamp} {text}", file=self.stream)
        print(f"\r\033[K{bar} {self.done}/{self.steps} {stamp}", end="", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar:
            print("\r\033[K", end="", file=self.stream, flush=True)
        super().close()
