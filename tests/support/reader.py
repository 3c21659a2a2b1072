"""A downstream reader: opens the published warehouse read-only in a loop and records what it sees.

Run as ``python -m tests.support.reader WAREHOUSE STOPFILE OUTFILE``. Each iteration opens the file
(no lock needed), runs a fixed set of queries, closes it. When STOPFILE exists it writes a JSON
summary (queries, errors, distinct answers) to OUTFILE and exits.
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


def main(warehouse: str, stop_file: str, out_file: str) -> None:
    queries, errors, answers, error_texts = 0, 0, set(), []
    while not Path(stop_file).exists():
        try:
            con = duckdb.connect(warehouse, read_only=True)
            try:
                answer = tuple(con.execute(sql).fetchall()[0][0] for sql in QUERIES.values())
            finally:
                con.close()
            answers.add(json.dumps(answer, default=str))
            queries += 1
        except Exception as err:  # every error counts: a lock, a missing table, a torn file
            errors += 1
            error_texts.append(f"{type(err).__name__}: {err}"[:300])
        time.sleep(0.005)
    Path(out_file).write_text(json.dumps({"queries": queries, "errors": errors, "answers": sorted(answers), "error_texts": error_texts[:5]}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
