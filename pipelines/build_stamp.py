"""Whether an offline refresh has anything to do: the stamp of what the last successful ``observatory build`` read.

An offline build's result is a function of

* **what it reads**: every file of the code and the bundled snapshot (``sources/``, ``warehouse/``,
  ``pipelines/``, ``pyproject.toml``, ``dagster.yaml``; databases and caches aside), the installed packages,
  the Python version, the ``OBSERVATORY_*`` and ``DAGSTER_*`` environment and today's date;
* **where it starts**: the working database, the published file, the rendered outputs and the Dagster
  instance folder, by their file status (size, modification time, inode), the quick check ``make`` and
  ``rsync`` use: any write to them changes it.

After a successful offline build the CLI writes both to ``<data folder>/build/last_build.json`` (the digest
of what it reads is taken *before* the run, so a file edited during the run is never stamped as built, and
the stamp is removed when a run starts, so a killed run leaves none). An offline build that finds both
unchanged launches no Dagster run: the warehouse is already what that run would produce. Anything
different (one byte of one file, an ingest, a deleted report page), and the run goes ahead as usual, where
each table still skips on its own fingerprint (:mod:`pipelines.fingerprint`). Live builds always run: the
publishers' side is not something a stamp can see.

Nothing here imports Dagster or pandas: the no-op answer costs a hash of ~20 MB of files and some ``stat`` calls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from sources import catalogue, files
from warehouse.engine.paths import REPO_ROOT, WarehousePaths

STAMP_NAME = "last_build.json"
CODE_DIRS = ("sources", "warehouse", "pipelines")
CODE_FILES = ("pyproject.toml", "dagster.yaml")
ENV_PREFIXES = ("OBSERVATORY_", "DAGSTER_")
_NOT_READ = ("__pycache__", ".duckdb", ".pyc")  # caches and databases: never inputs of a build


@dataclass(frozen=True)
class Stamp:
    """The last successful offline build: when, which Dagster run, and what it read and left."""

    finished: str
    run_id: str
    reads: str
    state: str


def _read_files(root: Path, data: Path) -> list[Path]:
    found = [root / name for name in CODE_FILES if (root / name).is_file()]
    tops = [root / top for top in CODE_DIRS]
    snapshot = catalogue.SNAPSHOT_DIR.resolve()
    if not any(t.resolve() in (snapshot, *snapshot.parents) for t in tops):
        tops.append(snapshot)  # the snapshot the catalogue reads, wherever it is
    for top in tops:
        for folder, dirs, names in os.walk(top):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _NOT_READ and here / d != data)
            found += [here / n for n in sorted(names) if not n.startswith(".") and not any(m in n for m in _NOT_READ)]
    return found


def _packages() -> list[str]:
    """The installed distributions (name-version from their ``.dist-info`` folders) of this environment."""
    seen = set()
    for key in ("purelib", "platlib"):
        folder = Path(sysconfig.get_paths()[key])
        if folder.is_dir():
            seen.update(p.name for p in folder.iterdir() if p.name.endswith(".dist-info"))
    return sorted(seen)


def reads_digest(paths: WarehousePaths, root: Path = REPO_ROOT) -> str:
    """SHA-256 of everything an offline build reads (see the module docstring)."""
    digest = hashlib.sha256()
    for path in _read_files(root, paths.data.resolve()):
        digest.update(f"{path.relative_to(root) if root in path.parents else path}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    digest.update(json.dumps({"python": sys.version, "packages": _packages(), "env": env,
                              "date": dt.date.today().isoformat(), "published": str(paths.published)}, sort_keys=True).encode())
    return digest.hexdigest()


def _status(path: Path) -> list:
    try:
        st = path.stat()
    except FileNotFoundError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ino]


def state_digest(paths: WarehousePaths, dagster_home: Path) -> str:
    """SHA-256 of the status of the files a build starts from and leaves (see the module docstring)."""
    watched = [paths.working, paths.working.with_name(paths.working.name + ".wal"), paths.published,
               paths.published.with_name(paths.published.name + ".wal"), dagster_home]
    if paths.outputs.is_dir():
        watched += sorted(p for p in paths.outputs.rglob("*"))
    return hashlib.sha256(json.dumps([_status(p) for p in watched]).encode()).hexdigest()


def _stamp_path(paths: WarehousePaths) -> Path:
    return paths.build_dir / STAMP_NAME


def read(paths: WarehousePaths) -> Stamp | None:
    try:
        return Stamp(**json.loads(_stamp_path(paths).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def forget(paths: WarehousePaths) -> None:
    """Remove the stamp (a run is starting: until it succeeds, nothing is known to be up to date)."""
    _stamp_path(paths).unlink(missing_ok=True)


def record(paths: WarehousePaths, dagster_home: Path, reads: str, run_id: str) -> Stamp:
    """Stamp a successful offline build whose inputs digested to ``reads`` (taken before its run started)."""
    stamp = Stamp(dt.datetime.now().replace(microsecond=0).isoformat(sep=" "), run_id, reads, state_digest(paths, dagster_home))
    paths.build_dir.mkdir(parents=True, exist_ok=True)
    files.write_text(_stamp_path(paths), json.dumps(stamp.__dict__))
    return stamp


def up_to_date(paths: WarehousePaths, dagster_home: Path, reads: str) -> Stamp | None:
    """The last build's stamp if nothing it read or left has changed since (so a run would change nothing); else None."""
    stamp = read(paths)
    if stamp is None or not paths.published.exists() or stamp.reads != reads:
        return None
    return stamp if stamp.state == state_digest(paths, dagster_home) else None
