"""The Dagster UI, served for real by ``observatory ui``: its GraphQL API, a refresh launched there, the CLI's history.

``observatory ui --port P --warehouse W`` (``dagster dev`` on 127.0.0.1, through tests/support/dagster_ui.py)
serves an empty temporary warehouse W. Its GraphQL API must list every asset, asset check, schedule and
sensor of ``pipelines.definitions.defs``; headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it
when missing) loads the asset graph page. Then, as a user would:

* ``observatory build`` (the CLI path) into another empty warehouse: the Dagster instance in that
  warehouse's data folder holds a materialisation from that run for every asset of ``refresh_all`` and every
  table the publish records (all but the on-demand reports group), each table with ``dagster/row_count``;
* ``refresh_all`` launched from the UI (the Launchpad's ``launchRun`` mutation) runs every step in one
  process, succeeds and publishes W, in at most 3x the CLI's cold build (loose: the machine is shared;
  ``benchmarks/ui_refresh.py`` reports the real ratio, target 1.5x);
* ``observatory build --rerun`` into W afterwards (nothing changed: the run is launched only because of
  ``--rerun``, and every load skips) shows in the running UI:
  each asset's latest materialisation is the CLI's, and every table carries ``dagster/row_count``.

Set ``OBSERVATORY_UPDATE_SCREENSHOT=1`` to also copy the screenshot to docs/img/asset_graph.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.dagster_ui import ObservatoryUI, cli_build

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=1600,1000", "--virtual-time-budget=15000",
)
UI_OVER_CLI_LIMIT = 3.0  # loose on a shared machine; the target (1.5x) is reported by benchmarks/ui_refresh.py

QUERY = """
{
  workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
      locationOrLoadError { __typename ... on PythonError { message } } } } }
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        assetNodes { assetKey { path } groupName
          assetChecksOrError { __typename ... on AssetChecks { checks { name } } } }
        schedules { name cronSchedule }
        sensors { name }
        jobs { name }
      }
    }
  }
}
"""

LATEST_MATERIALISATIONS = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId metadataEntries { label } } } }
"""


def _graphql(url: str, query: str = QUERY) -> dict:
    import requests

    response = requests.post(f"{url}/graphql", json={"query": query}, timeout=120)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _instance(warehouse: Path):
    """The Dagster instance in ``warehouse``'s data folder (the one ``observatory build`` and ``ui`` share)."""
    from dagster import DagsterInstance

    from warehouse.engine.paths import warehouse_paths

    return DagsterInstance.from_config(str(warehouse_paths(warehouse).dagster_home))


def _refresh_keys() -> set[str]:
    from pipelines.definitions import defs

    return {k.to_user_string() for k in defs.resolve_job_def("refresh_all").asset_layer.selected_asset_keys}


def _refresh_steps() -> int:
    """How many steps a refresh_all run has (one per asset step; each table's checks run in its step)."""
    from pipelines.definitions import defs

    return len(defs.resolve_job_def("refresh_all").graph.node_names())


def _quick_start_keys() -> set[str]:
    """Every asset a build materialises: refresh_all's, and the tables with no asset of their own (recorded by the
    publish); not the on-demand groups (report documents arrive with `observatory ingest`)."""
    from pipelines.definitions import ON_DEMAND_GROUPS, defs

    graph = defs.resolve_asset_graph()
    return {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).group_name not in ON_DEMAND_GROUPS}


def _table_keys() -> set[str]:
    from warehouse.engine.registry import REGISTRY

    return _quick_start_keys() & set(REGISTRY)


def _history(instance) -> dict[str, dict]:
    """For every asset a build materialises: its latest materialisation's run id and metadata labels."""
    from dagster import AssetKey

    latest = {}
    for key in _quick_start_keys():
        event = instance.get_latest_materialization_event(AssetKey.from_user_string(key))
        latest[key] = None if event is None else {"run_id": event.run_id, "labels": set(event.asset_materialization.metadata)}
    return latest


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """``observatory ui`` over an empty warehouse, on a free loopback port, until the module's tests end."""
    folder = tmp_path_factory.mktemp("ui_warehouse")
    with ObservatoryUI(folder / "observatory.duckdb", folder / "ui.log") as server:
        yield server


@pytest.fixture(scope="module")
def webserver(ui):
    return {"url": ui.url, "port": ui.port, "home": ui.home, "log": ui.log}


@pytest.fixture(scope="module")
def cli_cold(tmp_path_factory):
    """``observatory build`` into an empty warehouse of its own: (warehouse, wall seconds)."""
    folder = tmp_path_factory.mktemp("cli_warehouse")
    warehouse = folder / "observatory.duckdb"
    return warehouse, cli_build(warehouse, folder / "build.log")


@pytest.fixture(scope="module")
def ui_refresh(ui):
    """``refresh_all`` launched from the UI over its empty warehouse: (run record, wall seconds launch to end)."""
    return ui.refresh("refresh_all")


def test_webserver_listens_on_loopback_only(webserver):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        assert s.connect_ex(("127.0.0.1", webserver["port"])) == 0
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1", "127.0.1.1"}
    for address in addresses:  # any other interface of this machine: nothing there
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            assert s.connect_ex((address, webserver["port"])) != 0, f"the UI answers on {address}"


def test_graphql_lists_every_asset_check_schedule_and_sensor(webserver):
    from pipelines.definitions import defs

    data = _graphql(webserver["url"])
    locations = data["workspaceOrError"]["locationEntries"]
    assert all(e["locationOrLoadError"]["__typename"] == "RepositoryLocation" for e in locations), locations
    repositories = data["repositoriesOrError"]["nodes"]
    assert len(repositories) == 1, [r["name"] for r in repositories]
    repo = repositories[0]

    served_assets = {"/".join(n["assetKey"]["path"]) for n in repo["assetNodes"]}
    defined_assets = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert defined_assets - served_assets == set(), "assets defined but not served"
    assert served_assets - defined_assets == set(), "assets served but not defined"

    served_checks = {("/".join(n["assetKey"]["path"]), c["name"]) for n in repo["assetNodes"]
                     if n["assetChecksOrError"]["__typename"] == "AssetChecks" for c in n["assetChecksOrError"]["checks"]}
    defined_checks = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert defined_checks and defined_checks - served_checks == set(), "asset checks defined but not served"

    served_schedules = {s["name"] for s in repo["schedules"]}
    assert {s.name for s in defs.schedules or []} == served_schedules
    assert "monthly_refresh" in served_schedules
    assert {s.name for s in defs.sensors or []} == {s["name"] for s in repo["sensors"]}
    assert "refresh_all" in {j["name"] for j in repo["jobs"]}


def _chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def test_asset_graph_page_renders_in_headless_chromium(webserver, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip(f"no Chromium found on PATH (tried {', '.join(CHROMIUM_CANDIDATES)}); .ci/run installs Debian's `chromium`")
    screenshot = tmp_path / "asset_graph.png"
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}", f"{webserver['url']}/asset-groups"],
        capture_output=True, text=True, timeout=180,
    )
    assert screenshot.exists() and screenshot.stat().st_size > 10_000, result.stderr[-3000:]

    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.size == (1600, 1000)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 200, "the screenshot is (nearly) blank: the asset graph did not render"
    if os.environ.get("OBSERVATORY_UPDATE_SCREENSHOT"):
        target = REPO_ROOT / "docs" / "img" / "asset_graph.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target)
    print(f"\nasset graph screenshot: {screenshot}")


def test_cli_build_records_every_asset_in_the_instance_of_its_data_folder(cli_cold):
    warehouse, _ = cli_cold
    with _instance(warehouse) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].job_name == "refresh_all" and runs[0].is_success, runs
        history = _history(instance)
    assert {key for key, latest in history.items() if latest is None} == set(), "never materialised after the Quick start"
    assert {key for key, latest in history.items() if latest["run_id"] != runs[0].run_id} == set()
    assert {key for key in _table_keys() if "dagster/row_count" not in history[key]["labels"]} == set()


def test_refresh_launched_from_the_ui_runs_in_one_process_and_publishes(ui, ui_refresh, cli_cold):
    from dagster import DagsterEventType

    run, ui_seconds = ui_refresh
    assert run["status"] == "SUCCESS", ui.tail()
    with _instance(ui.warehouse) as instance:
        events = [r.dagster_event for r in instance.all_logs(run["runId"]) if r.dagster_event]
    step_pids = [e.pid for e in events if e.event_type == DagsterEventType.STEP_START]
    assert len(step_pids) == _refresh_steps() and len(set(step_pids)) == 1, "not every step ran, or steps ran in more than one process"
    published = [e.step_materialization_data.materialization.metadata["published"].value for e in events
                 if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
                 and e.asset_key.to_user_string() == "observatory_warehouse"]
    assert published == [True], "the refresh launched from the UI did not publish"
    assert ui.warehouse.exists()

    cli_seconds = cli_cold[1]
    print(f"\nrefresh_all from the UI {ui_seconds:.1f} s, CLI cold build {cli_seconds:.1f} s: {ui_seconds / cli_seconds:.2f}x")
    assert ui_seconds <= UI_OVER_CLI_LIMIT * cli_seconds


def test_ui_shows_the_cli_history_with_row_counts_on_skipped_loads(ui, ui_refresh):
    assert ui_refresh[0]["status"] == "SUCCESS"
    # nothing changed since the UI's refresh: --rerun launches the run anyway, and every load in it skips
    cli_build(ui.warehouse, ui.log.with_name("build.log"), "--rerun")
    with _instance(ui.warehouse) as instance:
        cli_run = instance.get_runs(limit=1)[0]
        history = _history(instance)
    assert cli_run.run_id != ui_refresh[0]["runId"] and cli_run.is_success
    assert {key for key, latest in history.items() if latest["run_id"] != cli_run.run_id} == set()
    skipped = {key for key in _table_keys() if "skipped" in history[key]["labels"]}
    assert skipped, "a rebuild with nothing changed should skip its loads"
    assert {key for key in _table_keys() if "dagster/row_count" not in history[key]["labels"]} == set()

    served = {"/".join(node["assetKey"]["path"]): node["assetMaterializations"]
              for node in _graphql(ui.url, LATEST_MATERIALISATIONS)["assetNodes"]}
    assert {key for key in _quick_start_keys() if not served.get(key)} == set(), "the UI shows assets as never materialised"
    assert {key for key in _quick_start_keys() if served[key][0]["runId"] != cli_run.run_id} == set()
    assert {key for key in _table_keys()
            if "dagster/row_count" not in {e["label"] for e in served[key][0]["metadataEntries"]}} == set()
