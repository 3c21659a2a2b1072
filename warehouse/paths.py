"""Where the warehouse lives: the published file, the build folder and the raw landing store.

The published file is `warehouse/observatory.duckdb` in the repository, or the path in the
environment variable ``OBSERVATORY_WAREHOUSE``. Everything a refresh writes sits beside it, on the
same filesystem, so the final ``os.replace`` is atomic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = REPO_ROOT / "warehouse" / "observatory.duckdb"
ENV_VAR = "OBSERVATORY_WAREHOUSE"


@dataclass(frozen=True)
class WarehousePaths:
    """The files of one warehouse."""

    published: Path

    @property
    def folder(self) -> Path:
        return self.published.parent

    @property
    def build_dir(self) -> Path:
        """Private to refreshes: the working database and publish temporaries."""
        return self.folder / ".build"

    @property
    def working(self) -> Path:
        """The database refreshes write to; it is copied, never opened, by readers."""
        return self.build_dir / f"{self.published.stem}.working.duckdb"

    @property
    def landing(self) -> Path:
        """The raw landing store: every input file by its SHA-256."""
        return self.folder / ".landing"

    def ensure(self) -> "WarehousePaths":
        self.build_dir.mkdir(parents=True, exist_ok=True)
        self.landing.mkdir(parents=True, exist_ok=True)
        return self


def warehouse_paths(path: str | os.PathLike | None = None) -> WarehousePaths:
    """The warehouse at ``path``, else at ``$OBSERVATORY_WAREHOUSE``, else the repository default."""
    chosen = path or os.environ.get(ENV_VAR) or DEFAULT_WAREHOUSE
    return WarehousePaths(Path(chosen).expanduser().resolve())
