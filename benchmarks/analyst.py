"""What an analyst waits for, against the targets of issue 13, on an already built warehouse.

    .venv/bin/python benchmarks/analyst.py [--warehouse PATH] [--repeat 3]

* ``observatory sql "select * from core_population__estimates"``: wall time to the first screen and peak
  resident memory of the whole command (a subprocess, measured with ``os.wait4``); target < 3 s, < 500 MB;
* ``observatory profile Hull``: wall time of the command that resolves the name and writes the page; target < 2 s;
* every profile page plus the index, rendered in-process (what the ``observatory_pages`` asset does).

Each figure is the best of ``--repeat`` runs. The warehouse defaults to ``$OBSERVATORY_WAREHOUSE`` or the
repository's ``warehouse/observatory.duckdb``; build it first with ``observatory build``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent


def run_command(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``observatory ARGS``."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "observatory"), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"observatory {' '.join(args)} failed: {proc.stderr.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from warehouse.engine.paths import ENV_VAR, warehouse_paths

    published = warehouse_paths(args.warehouse).published
    if not published.exists():
        raise SystemExit(f"no warehouse at {published}: run `observatory build` first")
    env = {**os.environ, ENV_VAR: str(published), "COLUMNS": "160"}
    rows = []
    sql = min(run_command(["sql", "select * from core_population__estimates"], env) for _ in range(args.repeat))
    rows.append(("sql select * from core_population__estimates, first screen", f"{sql[0]:.2f} s", "< 3 s", sql[0] < 3))
    rows.append(("  peak memory of that command", f"{sql[1]:.0f} MB", "< 500 MB", sql[1] < 500))
    with tempfile.TemporaryDirectory() as tmp:
        page = min(run_command(["profile", "Hull", "--out", f"{tmp}/hull.html"], env) for _ in range(args.repeat))
        rows.append(("observatory profile Hull (resolve + write page)", f"{page[0]:.2f} s", "< 2 s", page[0] < 2))
        import duckdb

        from warehouse.outputs import profiles

        con = duckdb.connect(str(published), read_only=True)
        start = time.perf_counter()
        pages = profiles.write_profiles(con, profiles.profile_codes(con), Path(tmp) / "all")
        profiles.write_index(con, pages, Path(tmp) / "all")
        every = time.perf_counter() - start
        con.close()
        rows.append((f"all {len(pages)} profile pages + index, in-process", f"{every:.2f} s", "-", None))
    width = max(len(r[0]) for r in rows)
    for measure, figure, target, met in rows:
        print(f"{measure:<{width}}  {figure:>9}  {target:>9}  {'-' if met is None else 'yes' if met else 'NO'}")
    return 0 if all(r[3] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
