"""Where the warehouse lives: the published file, and the one data folder for everything a run writes.

The published file is ``warehouse/observatory.duckdb`` in the repository, or the path in the environment
variable ``OBSERVATORY_WAREHOUSE`` (CONTRACT.md). Everything else a run writes (the build folder with the
working database, the raw landing store, the reports inbox and its passwords file, the Dagster home, the
rendered report and profiles) lives in one **data folder**, never among the Python modules:

* ``$OBSERVATORY_DATA`` when set;
* else ``data/`` at the repository root for the default warehouse;
* else ``<stem>-data/`` beside a warehouse file placed elsewhere (so two warehouses never share one).

Publish temporaries sit beside the published file itself, so the final ``os.replace`` stays atomic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WAREHOUSE = REPO_ROOT / "warehouse" / "observatory.duckdb"
DEFAULT_DATA = REPO_ROOT / "data"
ENV_VAR = "OBSERVATORY_WAREHOUSE"
DATA_ENV_VAR = "OBSERVATORY_DATA"


@dataclass(frozen=True)
class WarehousePaths:
    """The files of one warehouse."""

    published: Path
    data: Path

    @property
    def folder(self) -> Path:
        """The folder of the published file (publish temporaries live here, for an atomic rename)."""
        return self.published.parent

    @property
    def build_dir(self) -> Path:
        """Private to refreshes: the working database and build state."""
        return self.data / "build"

    @property
    def working(self) -> Path:
        """The database refreshes write to; it is copied, never opened, by readers."""
        return self.build_dir / f"{self.published.stem}.working.duckdb"

    @property
    def landing(self) -> Path:
        """The raw landing store: every input file by its SHA-256."""
        return self.data / "landing"

    @property
    def inbox(self) -> Path:
        """The reports inbox (and its passwords file)."""
        return self.data / "inbox"

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance the CLI and the UI share."""
        return self.data / "dagster"

    @property
    def outputs(self) -> Path:
        """Rendered pages: the report, area profiles."""
        return self.data / "outputs"

    def protected(self) -> list[Path]:
        """Paths no output may be written over: the published file and everything a run keeps."""
        return [self.published, self.data]

    def ensure(self) -> WarehousePaths:
        for folder in (self.build_dir, self.landing):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def warehouse_paths(path: str | os.PathLike | None = None) -> WarehousePaths:
    """The warehouse at ``path``, else at ``$OBSERVATORY_WAREHOUSE``, else the repository default."""
    published = Path(path or os.environ.get(ENV_VAR) or DEFAULT_WAREHOUSE).expanduser().resolve()
    if os.environ.get(DATA_ENV_VAR):
        data = Path(os.environ[DATA_ENV_VAR]).expanduser().resolve()
    elif published == DEFAULT_WAREHOUSE.resolve():
        data = DEFAULT_DATA
    else:
        data = published.parent / f"{published.stem}-data"
    return WarehousePaths(published, data)
