"""``dg`` (dagster-dg-cli) accepts the project: ``dg check defs`` loads the code location, ``dg list defs`` lists it.

Both run as a user runs them, from the repository root with the project's virtual environment active, and read
the ``[tool.dg]`` section of pyproject.toml (project root module ``pipelines``, code location
``pipelines.definitions``). Each loads the definitions in a fresh process, hence slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

VENV = Path(sys.prefix)


def _dg(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OBSERVATORY_", "DAGSTER_HOME"))}
    env["VIRTUAL_ENV"] = str(VENV)  # as after `source .venv/bin/activate`
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    return subprocess.run([str(VENV / "bin" / "dg"), *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_dg_check_defs_loads_the_code_location():
    result = _dg("check", "defs")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_dg_list_defs_lists_what_the_definitions_declare():
    from pipelines.definitions import defs

    result = _dg("list", "defs", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    listed = json.loads(result.stdout)
    graph = defs.resolve_asset_graph()
    assert {a["asset_key"] for a in listed["assets"]} == {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {(c["asset_key"], c["name"]) for c in listed["asset_checks"]} == \
        {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    jobs = {j["name"] for j in listed["jobs"]}
    assert "refresh_all" in jobs
    assert {s["name"] for s in listed["schedules"]} >= {"monthly_refresh"}
    assert {r["name"] for r in listed["resources"]} >= {"warehouse", "sources"}
    listed_groups = {a["asset_key"]: a["group_name"] for a in listed["assets"]}
    assert listed_groups == {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
