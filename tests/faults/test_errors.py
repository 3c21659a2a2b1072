"""Every error names the file, the step and the cause, in one line (issue 14, part 5).

Real Dagster runs whose step raises what the real parsers raise (wrong encoding, truncated workbook, empty
CSV), read back through `pipelines.errors`, as the CLI prints them; and a real DuckDB whose COMMIT fails as a
full disk fails it: the cause survives the rollback.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, asset, materialize

from pipelines.assets._factory import readable_errors
from pipelines.errors import cause_of, one_line, user_message
from sources import ons_population
from sources.catalogue import snapshot_file
from sources.inputs import InputFile
from sources.landing import LandedFile
from warehouse.engine import loader
from warehouse.engine.registry import REGISTRY

pytestmark = [pytest.mark.slow, pytest.mark.faults]


def _landed(path, source_id="ons_mye2023"):
    return LandedFile(source_id, "0" * 64, f"snapshot:{path.name}", path.name, path.stat().st_size, dt.datetime(2026, 1, 1),
                      "ONS", "t", "OGL-UK-3.0", "snapshot", str(path))


def _step_error(build, landed):
    @asset(name="core_population")
    def failing():
        with readable_errors([landed]):
            build()

    result = materialize([failing], instance=DagsterInstance.ephemeral(), raise_on_error=False)
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1
    return failures[0].step_key, failures[0].step_failure_data.error


def _wrong_encoding(tmp_path):
    path = tmp_path / "lad19_cauth19_en_lu.csv"
    path.write_text("LAD19CD,LAD19NM\nE08000003,Manchester\n", encoding="utf-16")
    return path, lambda: {"t": pd.read_csv(path, encoding="utf-8")}, "decode"


def _truncated(tmp_path):
    original = snapshot_file("ons_mye2023").read_bytes()
    path = tmp_path / "mye23tablesew.xlsx"
    path.write_bytes(original[: len(original) // 2])
    return path, lambda: {"t": ons_population.parse_release(InputFile("ons_mye2023", path, "0" * 64))}, "truncation"


def _empty(tmp_path):
    path = tmp_path / "lookup.csv"
    path.write_bytes(b"")
    return path, lambda: {"t": pd.read_csv(path)}, "empty"


@pytest.mark.scenario("fails_clearly", "loss")
@pytest.mark.parametrize("make", [_wrong_encoding, _truncated, _empty], ids=["wrong encoding", "truncated xlsx", "empty csv"])
def test_the_cli_line_names_the_file_the_step_and_the_cause(tmp_path, make):
    path, build, cause = make(tmp_path)
    step, error = _step_error(build, _landed(path))
    line = one_line(step, error)
    assert path.name in user_message(error)  # the old user_message returned the raw decode/zip/CSV error, without it
    assert line.startswith("core_population failed: ") and path.name in line and f"[cause: {cause}]" in line, line
    assert "\n" not in line
    assert cause_of(error) == cause


class _FullDisk:
    """A real DuckDB connection whose COMMIT fails the way a full disk fails it (the transaction is gone)."""

    def __init__(self, con):
        self.con = con

    def execute(self, sql, *args):
        if sql.strip().upper() == "COMMIT":
            self.con.execute("ROLLBACK")
            raise duckdb.IOException('Could not write file "observatory.working.duckdb.wal": No space left on device')
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)


@pytest.mark.scenario("fails_clearly", "loss")
def test_a_full_disk_is_reported_as_a_full_disk_not_as_a_rollback_error(tmp_path):
    table = REGISTRY["core_build__publishes"] if "core_build__publishes" in REGISTRY else next(iter(REGISTRY.values()))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    frame = pd.DataFrame({f.name: pd.Series([], dtype="object") for f in table.fields})
    with pytest.raises(duckdb.IOException, match="No space left on device"):  # old: "cannot rollback - no transaction is active"
        loader.replace_table(_FullDisk(con), table, frame, inputs=["x.csv"], fingerprint="f")
    con.close()


def test_causes_are_classified_from_the_whole_chain():
    class Info:
        def __init__(self, cls_name, message, cause=None):
            self.cls_name, self.message, self.cause, self.context = cls_name, message, cause, None

    full = Info("DagsterExecutionStepExecutionError", "Error occurred while executing op core_x",
                Info("IOException", "IOException: Could not write file data/build/w.duckdb: No space left on device"))
    assert cause_of(full) == "disk full"
    assert user_message(full).startswith("Could not write file data/build/w.duckdb")
    lock = Info("WriterBusy", "WriterBusy: data: another writer holds the warehouse: pid 12 (observatory build)")
    assert cause_of(lock) == "lock"
    denied = Info("PermissionError", "PermissionError: [Errno 13] Permission denied: 'data/landing/x'")
    assert cause_of(denied) == "permission"
