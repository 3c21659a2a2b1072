"""Drive the real Dagster UI as a user would: ``observatory ui`` on a loopback port, its GraphQL API, runs launched there.

Used by tests/integration/test_ui.py and benchmarks/ui_refresh.py. ``ObservatoryUI`` starts ``observatory ui --port P
--warehouse W`` (``dagster dev``: webserver, daemon and code server, in their own process group) with no
``DAGSTER_HOME`` of the caller's, so the instance is the warehouse's own, ``<data folder>/dagster``, the one
``observatory build --warehouse W`` records its runs in. ``launch`` sends the Launchpad's ``launchRun``
mutation and ``wait`` polls the run until it ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

RUN = """
query Run($id: ID!) {
  runOrError(runId: $id) { __typename ... on Run { runId status startTime endTime } ... on PythonError { message } }
}
"""

REPOSITORY = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"

LOADED = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(warehouse: Path) -> dict[str, str]:
    """The caller's environment without its Dagster home or observatory settings; the warehouse set to ``warehouse``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_") and k != "DAGSTER_HOME"}
    env["OBSERVATORY_WAREHOUSE"] = str(warehouse)
    env["COLUMNS"] = "120"
    return env


def cli_build(warehouse: Path, log: Path, *options: str) -> float:
    """``observatory build --warehouse W [options]`` in a subprocess (the CLI path, its own Dagster instance); wall seconds."""
    started = time.perf_counter()
    with open(log, "ab") as out:
        status = subprocess.call([str(BIN / "observatory"), "build", "--warehouse", str(warehouse), *options],
                                 cwd=REPO_ROOT, env=clean_env(warehouse), stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"observatory build exited {status}:\n{log.read_text(errors='replace')[-3000:]}")
    return wall


class ObservatoryUI:
    """``observatory ui`` over ``warehouse`` on a free loopback port, until ``stop()`` (or the ``with`` block ends)."""

    def __init__(self, warehouse: Path, log: Path, *, startup_seconds: float = 240) -> None:
        self.warehouse, self.log, self.startup_seconds = warehouse, log, startup_seconds
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ObservatoryUI:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def home(self) -> Path:
        from warehouse.engine.paths import warehouse_paths

        return warehouse_paths(self.warehouse).dagster_home

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / ".nux").mkdir(exist_ok=True)
        (self.home / ".nux" / "nux.yaml").write_text("seen: 1\n")  # the first-visit newsletter dialog, already dismissed
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "observatory"), "ui", "--port", str(self.port), "--warehouse", str(self.warehouse)],
                cwd=REPO_ROOT, env=clean_env(self.warehouse), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_seconds
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"observatory ui exited {self.proc.returncode}:\n{self.tail()}")
            try:
                entries = self.graphql(LOADED)["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the UI was not ready after {self.startup_seconds:.0f}s:\n{self.tail()}")
            time.sleep(1.0)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: dagster dev, the webserver, daemon and code server
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=120)
        response.raise_for_status()
        body = response.json()
        if "errors" in body:
            raise AssertionError(body["errors"])
        return body["data"]

    def launch(self, job: str = "refresh_all", run_config: dict | None = None) -> str:
        """Launch ``job`` as the Launchpad's "Launch run" button does; the run id."""
        repo = self.graphql(REPOSITORY)["repositoriesOrError"]["nodes"][0]
        params = {"selector": {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                               "jobName": job},
                  "runConfigData": run_config or {}}
        result = self.graphql(LAUNCH, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise AssertionError(f"launchRun: {result}")
        return result["run"]["runId"]

    def wait(self, run_id: str, timeout: float = 1800, poll: float = 0.5) -> dict:
        """Poll the run until it ends; its last ``Run`` record (status, startTime, endTime)."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.graphql(RUN, {"id": run_id})["runOrError"]
            if run.get("status") in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {run.get('status')} after {timeout:.0f}s:\n{self.tail()}")
            time.sleep(poll)

    def refresh(self, job: str = "refresh_all") -> tuple[dict, float]:
        """Launch ``job`` and wait for it: the run record and the wall seconds from launch to its end."""
        started = time.perf_counter()
        run = self.wait(self.launch(job))
        return run, time.perf_counter() - started
