"""A BI reader, for the publish tests: query the serving file in a loop until told to stop.

    python tests/serving_reader.py held|new SERVING_FILE STOP_FILE OUT_JSONL

Each round reads through a connection held open from the start (held) or
through a new one (new: a process of its own, since DuckDB shares one open
database among the connections of a process), and writes what it saw (or the
error) as one JSON line. A state is whole when every table agrees on the
as-of date and the customer count.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

QUERY = """
SELECT
    (SELECT run_id FROM _published) AS run_id,
    (SELECT as_of_date FROM _published)::VARCHAR AS published_as_of,
    (SELECT max(as_of_date) FROM customer_segments)::VARCHAR AS segments_as_of,
    (SELECT max(as_of_date) FROM strategy_assignments)::VARCHAR AS strategy_as_of,
    (SELECT count(*) FROM customer_segments) AS segments,
    (SELECT count(*) FROM strategy_assignments) AS strategy,
    (SELECT sum(customers) FROM segment_summary
     WHERE dimension = 'strategy_group' AND as_of_date = (SELECT as_of_date FROM _published)) AS summarised,
    (SELECT count(*) FROM customer_segments_history
     WHERE as_of_date = (SELECT as_of_date FROM _published)) AS history
"""


def observe(con: duckdb.DuckDBPyConnection, how: str) -> dict:
    cursor = con.execute(QUERY)
    names = [d[0] for d in cursor.description]
    seen = dict(zip(names, cursor.fetchone(), strict=True))
    dates = {seen["published_as_of"], seen["segments_as_of"], seen["strategy_as_of"]}
    counts = {seen["segments"], seen["strategy"], seen["summarised"], seen["history"]}
    return {"how": how, **seen, "whole": len(dates) == 1 and len(counts) == 1}


def main(how: str, serving: str, stop: str, out: str) -> None:
    held = duckdb.connect(serving, read_only=True) if how == "held" else None
    with open(out, "a") as log:
        while not Path(stop).exists():
            try:
                if held is not None:
                    seen = observe(held, how)
                else:
                    with duckdb.connect(serving, read_only=True) as con:
                        seen = observe(con, how)
            except Exception as exc:  # every failure is what the test counts
                seen = {"how": how, "error": f"{type(exc).__name__}: {exc}"}
            log.write(json.dumps(seen, default=str) + "\n")
            log.flush()
            time.sleep(0.05)


if __name__ == "__main__":
    main(*sys.argv[1:5])
