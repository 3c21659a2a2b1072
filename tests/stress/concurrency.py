"""Two commands at once: writers take turns, readers never wait (issue 14, part 4).

A *trial* starts real ``observatory`` processes together against one copy of a built warehouse, with no
``DAGSTER_HOME`` (the Quick start default), plus a reader running ``observatory sql`` while they run:

* ``builds``        two ``observatory build`` (each opens the working database to write: fingerprints, history,
                    publish; ``OBSERVATORY_CONCURRENCY_REBUILD=1`` removes it first so both parse and load everything);
* ``build+ingest``  one ``observatory build`` and one ``observatory ingest`` of a new text document;
* ``ingests``       three ``observatory ingest``, each of its own new document.

Odd-numbered trials give the processes a ``DAGSTER_HOME`` of their own (a temporary instance); even ones none
(the data folder's shared instance, the Quick start default).

A trial passes when every writer exits 0, at least one of them said it was waiting for the other (so they did
meet), the published file opens and holds every ingested document, and every reader query answered (exit 0)
in under :data:`READER_LIMIT` seconds. Builds run through :mod:`tests.stress.runner` limited to the spine
domains (every load and publish goes through the same code whatever the domain), so trials stay short.

``python -m tests.stress.concurrency [TRIALS] [KIND...]`` runs ``TRIALS`` (default 20) of each kind and prints
one line per kind: trials, passed, failed, writers that waited, longest wait, slowest reader query.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
KINDS = ("builds", "build+ingest", "ingests")
SPINE = "provenance,geography,population,indicators"
RUN_TIMEOUT = 600
READER_LIMIT = 5.0  # seconds for one reader query, whatever the writers are doing
WAITING = "Waiting for the warehouse"


@dataclass
class Trial:
    kind: str
    ok: bool = False
    exit_codes: list[int] = field(default_factory=list)
    waited: int = 0
    reader_queries: int = 0
    reader_failures: int = 0
    slowest_reader: float = 0.0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def _env(warehouse: Path, spine: bool, dagster_home: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "OBSERVATORY_DATA", "OBSERVATORY_STRESS_DOMAINS")}
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    env["OBSERVATORY_WAREHOUSE"] = str(warehouse)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["COLUMNS"] = "200"
    if spine:
        env["OBSERVATORY_STRESS_DOMAINS"] = SPINE
    return env


def _document(folder: Path, n: int, trial_id: str) -> Path:
    path = folder / f"report_{trial_id}_{n}.txt"
    path.write_text(f"Observatory concurrency trial {trial_id}, document {n}.\n\n"
                    f"Healthy life expectancy for females in Hull was {55 + n}.{n} years in 2018 - 20.\n", encoding="utf-8")
    return path


def _commands(kind: str, docs: Path, trial_id: str) -> list[tuple[list[str], bool]]:
    # --rerun: the second build writes too (else it would find nothing changed and launch no run)
    build = ([sys.executable, "-m", "tests.stress.runner", "build", "--rerun"], True)
    if kind == "builds":
        return [build, build]
    if kind == "build+ingest":
        return [build,
                ([sys.executable, "-m", "tests.stress.runner", "ingest", str(_document(docs, 1, trial_id))], False)]
    if kind == "ingests":
        return [([sys.executable, "-m", "tests.stress.runner", "ingest", str(_document(docs, n, trial_id))], False) for n in (1, 2, 3)]
    raise ValueError(kind)


def _read_once(warehouse: Path) -> tuple[bool, float]:
    """One reader query as ``observatory sql`` runs it (the published file opened read-only): did it answer, how fast."""
    started = time.monotonic()
    try:
        con = duckdb.connect(str(warehouse), read_only=True, config={"enable_external_access": False})
        try:
            ok = con.execute("SELECT count(*) FROM core_geo__areas").fetchone()[0] > 0
        finally:
            con.close()
    except duckdb.Error:
        ok = False
    return ok, time.monotonic() - started


def run_trial(kind: str, base: Path, work: Path, trial_id: str, *, dagster_home: bool = False) -> Trial:
    """One trial on a fresh copy of ``base`` (a built warehouse folder) in ``work``; ``dagster_home``: with a
    ``DAGSTER_HOME`` of its own (a temporary instance) instead of the data folder's shared one."""
    trial = Trial(kind)
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base.parent, work)
    warehouse = work / base.name
    from warehouse.engine.paths import warehouse_paths

    paths = warehouse_paths(warehouse)
    if kind == "builds" and os.environ.get("OBSERVATORY_CONCURRENCY_REBUILD"):
        paths.working.unlink(missing_ok=True)  # both builds parse and load everything again (slower trials)
    docs = work / "docs"
    docs.mkdir()
    home = None
    if dagster_home:
        home = work / "dagster_home"
        home.mkdir()
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    started = time.monotonic()
    procs = []
    for argv, spine in _commands(kind, docs, trial_id):
        procs.append(subprocess.Popen(argv, env=_env(warehouse, spine, home), cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outputs: list[str] = []
    while any(p.poll() is None for p in procs) and time.monotonic() - started < RUN_TIMEOUT:
        ok, seconds = _read_once(warehouse)
        trial.reader_queries += 1
        trial.reader_failures += 0 if ok else 1
        trial.slowest_reader = max(trial.slowest_reader, seconds)
        time.sleep(0.5)
    for p in procs:
        try:
            out, _ = p.communicate(timeout=max(1.0, RUN_TIMEOUT - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            trial.problems.append(f"hung: {p.args}")
        outputs.append(out)
        trial.exit_codes.append(p.returncode)
    trial.seconds = time.monotonic() - started
    trial.waited = sum(WAITING in out for out in outputs)
    for code, out, p in zip(trial.exit_codes, outputs, procs):
        if code != 0:
            trial.problems.append(f"{' '.join(p.args[2:])} exited {code}: {out[-3000:]}")
        if "Could not set lock" in out:
            trial.problems.append("a raw DuckDB lock error reached the user")
    if trial.waited < 1:
        trial.problems.append("no writer waited: the commands did not meet")
    if trial.reader_failures or trial.slowest_reader > READER_LIMIT:
        trial.problems.append(f"readers: {trial.reader_failures} failed, slowest {trial.slowest_reader:.1f} s")
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            if kind != "builds":
                names = {r[0] for r in con.execute("SELECT file_name FROM core_reports__documents").fetchall()}
                wanted = {d.name for d in docs.iterdir()}
                if not wanted <= names:
                    trial.problems.append(f"documents missing from the published file: {sorted(wanted - names)}")
        finally:
            con.close()
    except duckdb.Error as err:
        trial.problems.append(f"published file unreadable: {err}")
    trial.ok = not trial.problems
    return trial


def summarise(kind: str, trials: list[Trial]) -> str:
    passed = sum(t.ok for t in trials)
    return (f"{kind}: {len(trials)} trials, {passed} passed, {len(trials) - passed} failed; "
            f"{sum(t.waited for t in trials)} writers waited their turn; "
            f"{sum(t.reader_queries for t in trials)} reader queries, {sum(t.reader_failures for t in trials)} failed, "
            f"slowest {max((t.slowest_reader for t in trials), default=0):.1f} s; "
            f"longest trial {max((t.seconds for t in trials), default=0):.0f} s")


def main(argv: list[str]) -> int:
    trials = int(argv[0]) if argv else 20
    kinds = argv[1:] or list(KINDS)
    root = Path(os.environ.get("OBSERVATORY_CONCURRENCY_DIR") or "/tmp/observatory-concurrency")
    base = root / "base" / "observatory.duckdb"
    if not base.exists():
        base.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pipelines.cli", "build"], env=_env(base, False), cwd=REPO_ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    results: dict[str, list[Trial]] = {kind: [] for kind in kinds}
    for i in range(trials):  # round robin, so a run cut short still covers every kind
        for kind in kinds:
            t = run_trial(kind, base, root / "trial", f"{kind.replace('+', '_')}{i}", dagster_home=bool(i % 2))
            results[kind].append(t)
            print(json.dumps({"kind": kind, "trial": i, "ok": t.ok, "waited": t.waited, "seconds": round(t.seconds, 1),
                              "slowest_reader": round(t.slowest_reader, 2), "problems": [p[:300] for p in t.problems]}), flush=True)
    print("\n".join(summarise(kind, trials_of_kind) for kind, trials_of_kind in results.items()))
    return 1 if any(not t.ok for ts in results.values() for t in ts) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
