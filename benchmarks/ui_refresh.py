"""A refresh launched from the Dagster UI against the same refresh from the command line, in one run.

    .venv/bin/python benchmarks/ui_refresh.py [--repeat 1] [--keep]

Each round, on this machine, interleaved:

* CLI: ``observatory build --warehouse <empty folder>/observatory.duckdb`` in a subprocess (cold: nothing
  landed, no working database), wall time from start to exit;
* UI: ``observatory ui --warehouse <another empty folder>/observatory.duckdb`` (``dagster dev`` on 127.0.0.1,
  started and loaded before the clock starts), then ``refresh_all`` launched through its GraphQL API (the
  Launchpad's ``launchRun`` mutation) and polled every 0.5 s; wall time from the launch to the run's end,
  so queueing by the daemon and the run worker's start-up count against the UI.

Prints both times, the ratio (target: UI <= 1.5x CLI, issue 12) and, for the UI run, how many processes
its steps ran in. Exits 1 if a refresh fails or the target is missed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET = 1.5


def step_processes(warehouse: Path, run_id: str) -> tuple[int, int]:
    """(steps started, distinct process ids they started in) for ``run_id``, from the warehouse's instance."""
    from dagster import DagsterEventType, DagsterInstance

    from warehouse.engine.paths import warehouse_paths

    with DagsterInstance.from_config(str(warehouse_paths(warehouse).dagster_home)) as instance:
        pids = [r.dagster_event.pid for r in instance.all_logs(run_id)
                if r.dagster_event and r.dagster_event.event_type == DagsterEventType.STEP_START]
    return len(pids), len(set(pids))


def ui_refresh(work: Path, label: str = "ui") -> tuple[float, dict, int, int]:
    """``refresh_all`` launched from ``observatory ui`` over an empty warehouse under ``work``: wall seconds from
    launch to end, the run record, steps started and the processes they ran in."""
    from tests.support.dagster_ui import ObservatoryUI

    warehouse = work / label / "observatory.duckdb"
    warehouse.parent.mkdir(parents=True)
    with ObservatoryUI(warehouse, work / f"{label}.log") as ui:
        run, seconds = ui.refresh("refresh_all")
    return (seconds, run, *step_processes(warehouse, run["runId"]))


def measure(work: Path, repeat: int = 1, say=print) -> dict:
    """CLI cold build and UI-launched refresh, interleaved ``repeat`` times: medians, ratio, and whether all succeeded."""
    from tests.support.dagster_ui import cli_build

    cli_times, ui_times, ok = [], [], True
    for round_ in range(repeat):
        cli_times.append(cli_build(work / f"cli{round_}" / "observatory.duckdb", work / "cli.log"))
        say(f"round {round_ + 1}: CLI cold build {cli_times[-1]:.1f} s")
        seconds, run, steps, processes = ui_refresh(work, f"ui{round_}")
        ui_times.append(seconds)
        say(f"round {round_ + 1}: UI refresh_all {seconds:.1f} s ({run['status']}; run itself "
            f"{run['endTime'] - run['startTime']:.1f} s; {steps} steps in {processes} process(es))")
        ok = ok and run["status"] == "SUCCESS"
    cli, ui = statistics.median(cli_times), statistics.median(ui_times)
    return {"cli": cli, "ui": ui, "ratio": ui / cli, "ok": ok}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds (CLI then UI each round); medians reported")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, warehouses, instances)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="observatory-ui-bench-"))
    try:
        result = measure(work, args.repeat, say=lambda line: print(line, flush=True))
        met = result["ratio"] <= TARGET
        print(f"\nrefresh_all launched from the UI: {result['ui']:.1f} s")
        print(f"observatory build (CLI), cold:   {result['cli']:.1f} s")
        print(f"ratio UI / CLI: {result['ratio']:.2f}x (target <= {TARGET}x) -> {'met' if met else 'NOT MET'}")
        return 0 if result["ok"] and met else 1
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
