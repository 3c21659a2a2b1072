"""What importing ``pipelines`` sets for the whole process (see `pipelines/__init__.py`): read by libraries as they
load, so checked in fresh interpreters."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

PROBE = "import pipelines, gc, os; print(gc.get_threshold()[0], os.environ['DUCKDB_JE_MALLOC_CONF'])"


def _probe(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_importing_pipelines_sets_the_collector_and_duckdb_s_allocator_before_duckdb_loads():
    env = {k: v for k, v in os.environ.items() if k != "DUCKDB_JE_MALLOC_CONF"}
    assert _probe(env) == "10000 dirty_decay_ms:0,muzzy_decay_ms:0"


def test_an_allocator_setting_already_in_the_environment_is_kept():
    assert _probe({**os.environ, "DUCKDB_JE_MALLOC_CONF": "narenas:2"}).endswith(" narenas:2")
