"""What the stress suites check a warehouse with: content digests, the asset checks, and leftovers.

* :func:`content_digest` gives each published table's row count and an order-independent hash of
  its rows, computed in DuckDB (the sum of per-row hashes), leaving out the columns that record
  *when* a refresh ran (retrieval, load and publish times, publish ids), so two builds of the same
  inputs have equal digests.
* :func:`run_asset_checks` runs every asset check of ``pipelines.definitions`` against a warehouse
  file opened read-only, through a :class:`WarehouseResource` whose connections go to that file.
* :func:`leftovers` lists what a killed refresh can leave behind: publish temporaries, landing-store
  ``.partial-`` and ``.download-`` files, and ``_staging__`` tables in the working database.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipelines.resources import WarehouseResource
from warehouse.engine import loader
from warehouse.engine.ddl import quote_ident
from warehouse.engine.paths import WarehousePaths, warehouse_paths

# Columns that say when (or as which publish) a refresh ran, not what the data are.
VOLATILE_COLUMNS = frozenset({"retrieved_at", "recorded_at", "published_at", "loaded_at", "publish_id", "sample_changes"})
_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
_CHECK_LOCK = threading.Lock()


def content_digest(path: Path) -> dict[str, tuple[int, int]]:
    """``{table: (rows, hash)}`` for every non-internal table of the DuckDB file at ``path`` (opened read-only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT starts_with(table_name, '_') ORDER BY 1"
        ).fetchall()]
        digest = {}
        for table in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
                [table]).fetchall()
            terms = [f"round({quote_ident(c)}, 9)" if t in _FLOAT_TYPES else quote_ident(c)
                     for c, t in columns if c not in VOLATILE_COLUMNS]
            row_hash = f"hash({', '.join(terms)})" if terms else "0"
            rows, total = con.execute(
                f"SELECT count(*), coalesce(sum({row_hash}::HUGEINT), 0) FROM {quote_ident(table)}").fetchall()[0]
            digest[table] = (int(rows), int(total))
        return digest
    finally:
        con.close()


class PublishedWarehouse(WarehouseResource):
    """The warehouse resource, but every connection is to the *published* file, read-only."""

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.paths.published), read_only=True)
        try:
            yield con
        finally:
            con.close()


def run_asset_checks(published: Path) -> dict[str, bool]:
    """The asset checks of the code location on tables ``published`` holds, run against it: ``{check: passed}``.

    Checks of on-demand assets, and of tables a build without some domains does not hold, are not run.
    """
    from pipelines.definitions import ON_DEMAND_GROUPS, defs, domain_checks

    con = duckdb.connect(str(published), read_only=True)
    try:
        present = loader.relation_names(con)  # tables and views (registry tables stored as views have checks too)
    finally:
        con.close()
    graph = defs.resolve_asset_graph()
    resource = PublishedWarehouse(path=str(published))
    results = {}
    with _CHECK_LOCK:  # direct invocation of Dagster definitions from several threads is not worth the risk
        for check in domain_checks:
            key = check.spec.asset_key
            if key.path[-1] not in present or graph.get(key).group_name in ON_DEMAND_GROUPS:
                continue
            results[f"{key.to_user_string()}: {check.spec.name}"] = check(resource).passed
    return results


def expected_tables() -> set[str]:
    """Registry tables every published build must hold (assets of the full refresh, as publishing requires)."""
    from pipelines.definitions import ON_DEMAND_GROUPS, defs
    from warehouse.engine.registry import REGISTRY

    graph = defs.resolve_asset_graph()
    return {
        key.path[-1] for key in graph.materializable_asset_keys
        if key.path[-1] in REGISTRY and graph.get(key).group_name not in (*ON_DEMAND_GROUPS, "publish")
    }


def leftovers(paths: WarehousePaths | Path) -> list[str]:
    """Temporaries a killed refresh can leave: publish copies, partial landings, downloads, staging tables."""
    if not isinstance(paths, WarehousePaths):
        paths = warehouse_paths(paths)
    found = [p.name for p in paths.folder.glob(f".{paths.published.name}.publishing-*")]
    if paths.landing.exists():
        found += [str(p.relative_to(paths.folder)) for p in paths.landing.rglob("*") if ".partial-" in p.name or p.name.startswith(".download-")]
    if paths.working.exists():
        con = duckdb.connect(str(paths.working), read_only=True)
        try:
            found += [r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '_staging__')").fetchall()]
        finally:
            con.close()
    return sorted(found)
