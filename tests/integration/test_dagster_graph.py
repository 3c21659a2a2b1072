"""The asset graph as Dagster sees it (keys, groups, dependencies, checks, jobs) against a committed snapshot.

A change to the graph must be deliberate: an asset renamed, moved to another group, a dependency lost or
added, a check dropped or turned from blocking into warning shows here as a readable difference. When the
change is intended, regenerate the snapshot and commit it with the change:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -n 0 tests/integration/test_dagster_graph.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

from tests.conftest import REPO_ROOT

HERE = Path(__file__).resolve()
SNAPSHOT = HERE.parents[1] / "snapshots" / "asset_graph.json"
REGENERATE = f"UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -n 0 {HERE.relative_to(REPO_ROOT)}"


def asset_graph() -> dict:
    """The graph of ``pipelines.definitions.defs`` as plain, sorted JSON-able data."""
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    refresh_all = defs.resolve_job_def("refresh_all").asset_layer.selected_asset_keys
    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        checks = sorted(graph.get_check_keys_for_assets({key}), key=lambda k: k.name)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": {c.name: "blocking" if graph.get_check_spec(c).blocking else "warning" for c in checks},
            "in_refresh_all": key in refresh_all,
        }
    jobs = {job.name: sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
            for job in defs.resolve_all_job_defs() if not job.name.startswith("__")}
    jobs.pop("refresh_all", None)  # recorded per asset above
    return {"assets": assets, "jobs": jobs}


def _dump(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def test_asset_graph_matches_the_committed_snapshot():
    current = _dump(asset_graph())
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), f"no snapshot at {SNAPSHOT.relative_to(REPO_ROOT)}; create it with: {REGENERATE}"
    stored = SNAPSHOT.read_text()
    if stored != current:
        diff = "".join(difflib.unified_diff(stored.splitlines(True), current.splitlines(True),
                                            f"{SNAPSHOT.relative_to(REPO_ROOT)} (committed)", "asset graph (now)", n=5))
        raise AssertionError(
            f"The asset graph changed.\n{diff}\nIf this change is intended, regenerate the snapshot and commit it:\n    {REGENERATE}")


def test_snapshot_sees_every_check_and_group_the_definitions_declare():
    """The snapshot is only a guard if it is complete: every asset check and every group appears in it."""
    from pipelines.definitions import defs, domain_checks

    data = asset_graph()
    declared = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    # every check a module declares is attached to its table's asset (a check left out of its ``table_asset`` never runs)
    assert {(c.spec.asset_key.to_user_string(), c.spec.name) for c in domain_checks} == declared
    recorded = {(asset, name) for asset, node in data["assets"].items() for name in node["checks"]}
    assert declared and declared <= recorded
    assert {node["group"] for node in data["assets"].values()} >= {"publish", "reports"}
    assert any(node["in_refresh_all"] for node in data["assets"].values())


def test_raw_files_are_parsed_in_the_order_the_run_reads_them():
    """Parsing ahead follows the graph: geography (read by the first tables) before the population estimates (read
    once geography is loaded), before the Fingertips files (read once population is loaded)."""
    from pipelines.assets._factory import first_use
    from pipelines.definitions import defs

    graph = defs.resolve_job_def("refresh_all").asset_layer.asset_graph
    assert first_use(graph, "raw_ons__lad18_rgn18") < first_use(graph, "raw_ons__mye2023") < first_use(graph, "raw_fingertips__hle_90362")
