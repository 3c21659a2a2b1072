"""The one Dagster instance the CLI and the UI share (pipelines/instance.py), and the command that serves it.

The end-to-end proof (a build's history shown by a running ``observatory ui``) is in tests/integration/test_ui.py; these
check the wiring without starting anything: where the instance lives, that it persists, and what
``observatory ui`` would run.
"""

from __future__ import annotations

import yaml

from tests.conftest import REPO_ROOT


def test_the_instance_lives_in_the_warehouse_data_folder_and_persists(tmp_path, monkeypatch):
    from pipelines.instance import dagster_home, shared_instance
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("OBSERVATORY_DATA", raising=False)
    paths = warehouse_paths(tmp_path / "wh" / "observatory.duckdb")
    home = dagster_home(paths)
    assert home == paths.dagster_home and home.is_relative_to(paths.data)
    # the repository's dagster.yaml, plus the event log storage with this folder's absolute path
    written = (home / "dagster.yaml").read_text()
    assert written.startswith((REPO_ROOT / "dagster.yaml").read_text().rstrip("\n"))
    assert yaml.safe_load(written)["event_log_storage"]["config"]["base_dir"] == str(home / "history" / "runs")
    with shared_instance(paths) as instance:
        assert not instance.is_ephemeral
        assert instance.root_directory == str(home)
        assert type(instance.event_log_storage).__name__ == "ObservatoryEventLogStorage"
    assert dagster_home(paths) == home and (home / "dagster.yaml").read_text() == written  # stable: not rewritten


def test_dagster_home_set_by_the_user_wins(tmp_path, monkeypatch):
    from pipelines.instance import dagster_home
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert dagster_home(warehouse_paths(tmp_path / "wh" / "observatory.duckdb")) == (tmp_path / "mine").resolve()


def test_observatory_ui_runs_dagster_dev_on_loopback_over_the_shared_instance(tmp_path, monkeypatch):
    from pipelines.instance import ui_command
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("OBSERVATORY_DATA", raising=False)
    paths = warehouse_paths(tmp_path / "wh" / "observatory.duckdb")
    argv, env = ui_command(paths, 4321)
    assert argv[1:4] == ["-m", "dagster", "dev"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and argv[argv.index("--port") + 1] == "4321"
    assert argv[argv.index("--module-name") + 1] == "pipelines.definitions"
    assert env["DAGSTER_HOME"] == str(paths.dagster_home)
    assert int(env["DAGSTER_EVENT_BATCH_SIZE"]) > 1  # the UI's runs hand event batches to the storage too
