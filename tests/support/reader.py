"""A downstream reader: opens the published warehouse read-only in a loop and records what it sees.

Run as ``python -m tests.support.reader WAREHOUSE STOPFILE OUTFILE [--interval SECONDS] [--build-id]``.
Each iteration opens the file (no lock needed), runs a fixed set of queries, closes it. When
STOPFILE exists it writes a JSON summary to OUTFILE and exits: queries (iterations that answered),
errors, the distinct answers, the slowest open and how many opens took over a second
(``slow_opens``: a reader that had to wait for a writer), and with ``--build-id`` the distinct
builds it read (the latest ``publish_id`` in the file's build history).
"""

import json
import sys
import time
from pathlib import Path

import duckdb

QUERIES = {
    "areas": "SELECT count(*) FROM core_geo__areas",
    "england_2023": "SELECT sum(population) FROM core_population__estimates WHERE area_code = 'E92000001' AND year = 2023 AND sex = 'persons' AND age = 'all'",
    "lad_sum_2021": "SELECT sum(population) FROM core_population__estimates WHERE regexp_matches(area_code, '^E0[6-9]') AND year = 2021 AND sex = 'persons' AND age = 'all'",
}
BUILD_ID = "SELECT max(publish_id) FROM core_build__publishes"
SLOW_OPEN_SECONDS = 10.0  # DuckDB never waits on a lock (it raises), so only a real block is this slow; 2 loaded cores can take >1 s


def main(warehouse: str, stop_file: str, out_file: str, *options: str) -> None:
    interval = float(options[options.index("--interval") + 1]) if "--interval" in options else 0.005
    with_build = "--build-id" in options
    queries, errors, answers, error_texts, builds = 0, 0, set(), [], set()
    slowest_open, slow_opens = 0.0, 0
    while not Path(stop_file).exists():
        try:
            started = time.monotonic()
            con = duckdb.connect(warehouse, read_only=True)
            opened = time.monotonic() - started
            slowest_open = max(slowest_open, opened)
            slow_opens += opened > SLOW_OPEN_SECONDS
            try:
                answer = tuple(con.execute(sql).fetchall()[0][0] for sql in QUERIES.values())
                build = con.execute(BUILD_ID).fetchall()[0][0] if with_build else None
            finally:
                con.close()
            answers.add(json.dumps(answer, default=str))
            if with_build:
                builds.add(build)
            queries += 1
        except Exception as err:  # every error counts: a lock, a missing table, a torn file
            errors += 1
            error_texts.append(f"{type(err).__name__}: {err}"[:300])
        time.sleep(interval)
    Path(out_file).write_text(json.dumps({
        "queries": queries, "errors": errors, "answers": sorted(answers), "error_texts": error_texts[:5],
        "slowest_open_seconds": round(slowest_open, 3), "slow_opens": slow_opens, "builds": sorted(b for b in builds if b),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
