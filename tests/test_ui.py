"""The Dagster UI, served for real: dagster-webserver on 127.0.0.1, its GraphQL API, and the asset graph in Chromium.

The webserver runs with a temporary DAGSTER_HOME holding a copy of the repository's dagster.yaml,
on a free port of the loopback interface only. The GraphQL API must list every asset, asset check,
schedule and sensor of ``pipelines.definitions.defs``. Headless Chromium (Debian's ``chromium``;
``.ci/run`` installs it when missing) then loads the asset graph page and saves a screenshot.
Set ``OBSERVATORY_UPDATE_SCREENSHOT=1`` to also copy it to docs/img/asset_graph.png.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--window-size=1600,1000", "--virtual-time-budget=15000",
)
STARTUP_SECONDS = 180

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str = QUERY) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    """``dagster-webserver -h 127.0.0.1 -p <free port>`` on the code location, until the module's tests end."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    (home / ".nux").mkdir()
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")  # the first-visit newsletter dialog, already dismissed
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env["DAGSTER_HOME"] = str(home)
    log = home / "webserver.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-m", "pipelines.definitions"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert proc.poll() is None, f"dagster-webserver exited:\n{log.read_text(errors='replace')[-3000:]}"
            try:
                entries = _graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
                statuses = [e["loadStatus"] for e in entries["workspaceOrError"]["locationEntries"]]
                if statuses and all(s == "LOADED" for s in statuses):
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline, f"dagster-webserver not ready after {STARTUP_SECONDS}s:\n{log.read_text(errors='replace')[-3000:]}"
            time.sleep(1.0)
        yield {"url": url, "port": port, "home": home, "log": log}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the webserver and the code server it started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


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
    defined_checks = {(k.asset_key.to_user_string(), k.name) for c in defs.asset_checks or [] for k in c.check_keys}
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
