"""Shared fixtures: a warehouse built once per test session from the bundled snapshot, and helpers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from warehouse.engine.paths import ENV_VAR

# Import the definitions once, before any test sets OBSERVATORY_WAREHOUSE: the resources read it at
# run time (unset at import → resolved per run), so every test can point runs at its own warehouse.
_saved = os.environ.pop(ENV_VAR, None)
import pipelines.definitions  # noqa: E402,F401

if _saved is not None:
    os.environ[ENV_VAR] = _saved

REPO_ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.faults.summary"]  # the fault suite's one-line summary (scenarios tried, survived, ...)


class ScratchSnapshot:
    """A private copy of the bundled snapshot that a test may edit: ``root / path`` is a file in it, and
    :meth:`rehash` records an edited file's new SHA-256 in the copy's catalogue, as a maintainer would."""

    def __init__(self, root: Path):
        self.root = root

    def __truediv__(self, part) -> Path:
        return self.root / part

    def file(self, source_id: str) -> Path:
        from sources import catalogue as cat

        return self.root / cat.catalogue()[source_id].path

    def rehash(self, source_id: str) -> str:
        """Record ``source_id``'s file as it is now in the catalogue; returns its SHA-256."""
        from sources import catalogue as cat

        catalogue_file = self.root / "catalogue.toml"
        sha = cat.sha256_of(self.file(source_id))
        catalogue_file.write_text(catalogue_file.read_text().replace(cat.catalogue()[source_id].sha256, sha))
        cat.catalogue.cache_clear()
        return sha


@pytest.fixture()
def scratch_snapshot(tmp_path, monkeypatch) -> ScratchSnapshot:
    """The bundled snapshot copied to a temporary folder, which the catalogue then reads instead."""
    from sources import catalogue as cat

    root = tmp_path / "snapshot"
    shutil.copytree(cat.SNAPSHOT_DIR, root)
    monkeypatch.setattr(cat, "SNAPSHOT_DIR", root)
    monkeypatch.setattr(cat, "CATALOGUE_PATH", root / "catalogue.toml")
    cat.catalogue.cache_clear()
    cat.live_sources.cache_clear()
    yield ScratchSnapshot(root)
    cat.catalogue.cache_clear()
    cat.live_sources.cache_clear()


def run_refresh(warehouse_file: Path, *, raise_on_error: bool = True, selection=None):
    """Materialise the real `refresh_all` job (or a selection of assets) into ``warehouse_file``; returns the result."""
    from dagster import DagsterInstance

    os.environ[ENV_VAR] = str(warehouse_file)
    try:
        from pipelines.definitions import defs

        job = defs.resolve_job_def("refresh_all")
        if selection is not None:
            job = job.get_subset(asset_selection=set(selection))
        return job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=raise_on_error)
    finally:
        os.environ.pop(ENV_VAR, None)


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> Path:
    """The published warehouse file after one full refresh of the bundled snapshot (read it, never write it)."""
    folder = tmp_path_factory.mktemp("built")
    target = folder / "observatory.duckdb"
    result = run_refresh(target)
    assert result.success
    return target


@pytest.fixture()
def warehouse_copy(built_warehouse, tmp_path) -> Path:
    """A private copy of the built warehouse folder (working database and landing store included) to refresh again."""
    target = tmp_path / "wh"
    shutil.copytree(built_warehouse.parent, target)
    return target / built_warehouse.name


@pytest.fixture()
def query(built_warehouse):
    """Run SQL against the built warehouse, read-only, returning a DataFrame."""
    def _query(sql: str, params=None):
        con = duckdb.connect(str(built_warehouse), read_only=True)
        try:
            return con.execute(sql, params).df()
        finally:
            con.close()
    return _query
