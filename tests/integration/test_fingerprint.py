"""The change fingerprint: a load is skipped only when nothing it depends on changed.

The slow tests run the real ``observatory build`` from a temporary copy of the code, against a copy of the
session's warehouse, and edit that copy: a ``.sql`` file, then a parser. The dependent tables must be rebuilt
and the others skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import fingerprint as fp
from tests.conftest import REPO_ROOT
from warehouse.engine.paths import warehouse_paths

CODE = ["pipelines", "sources", "warehouse", "dagster.yaml", "pyproject.toml"]


def test_closure_finds_the_parsers_transforms_sql_and_catalogue_a_load_uses():
    from pipelines.assets import funding, health

    core = fp.code_closure(health.core_health.op.compute_fn.decorated_fn)
    assert {"sources.fingertips", "warehouse.transforms.health", "warehouse.transforms.aggregation"} <= set(core)
    digests = [fp._module_digest(m) for m in core]
    assert any(str(Path(c).name) == "fingertips_indicators.toml" for _, _, configs, _ in digests for c in configs)
    gaps = fp.code_closure(funding.north_south_gaps.op.compute_fn.decorated_fn)
    assert "north_south_gaps" in {s for m in gaps for s in fp._module_digest(m)[1]}


def test_fingerprint_changes_with_inputs_tables_and_upstream():
    from sources.landing import LandedFile

    def build():
        return {}

    base = fp.fingerprint([], ["core_geo__areas"], build)
    assert base == fp.fingerprint([], ["core_geo__areas"], build)
    assert base != fp.fingerprint([], ["core_geo__areas"], build, upstream="x")
    assert base != fp.fingerprint([], ["core_geo__areas", "core_geo__former_areas"], build)
    landed = LandedFile(source_id="s", sha256="a" * 64, origin="o", bytes=1, file_name="f", retrieved_at=None,
                        publisher="p", title="t", licence="l", mode="snapshot", landed_path="x")
    assert base != fp.fingerprint([landed], ["core_geo__areas"], build)


def test_the_query_of_a_table_stored_as_a_view_is_in_its_load_s_fingerprint(tmp_path, monkeypatch):
    def build():
        return {}

    names = ["core_population__estimates", "core_population__estimates_by_release"]
    base = fp.fingerprint([], names, build)
    edited = tmp_path / "core_population__estimates.sql"
    edited.write_text(fp.sql_path("core_population__estimates").read_text() + "\n-- edited\n")
    real = fp.sql_path
    monkeypatch.setattr(fp, "sql_path", lambda name: edited if name == "core_population__estimates" else real(name))
    assert fp.fingerprint([], names, build) != base
    assert fp.fingerprint([], ["core_geo__areas"], build) == fp.fingerprint([], ["core_geo__areas"], build)


def _code_copy(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    for name in CODE:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, code / name, ignore=shutil.ignore_patterns("__pycache__", "*.duckdb", "data"))
        else:
            shutil.copyfile(src, code / name)
    return code


def _build(code: Path, warehouse_file: Path) -> None:
    result = subprocess.run([sys.executable, "-c", "from pipelines.cli import app; app()", "build", "--warehouse", str(warehouse_file)],
                            cwd=code, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def _loaded_at(warehouse_file: Path) -> dict[str, object]:
    con = duckdb.connect(str(warehouse_paths(warehouse_file).working), read_only=True)
    try:
        return dict(con.execute("SELECT table_name, loaded_at FROM _observatory_loads").fetchall())
    finally:
        con.close()


@pytest.mark.slow
def test_editing_sql_or_a_parser_rebuilds_exactly_the_dependent_tables(warehouse_copy, tmp_path):
    code = _code_copy(tmp_path)
    before = _loaded_at(warehouse_copy)

    _build(code, warehouse_copy)  # the same code: every fingerprint matches, nothing is built again
    unchanged = _loaded_at(warehouse_copy)
    rebuilt = {t for t in before if unchanged.get(t) != before[t] and not t.startswith("mart_reconciliation")}
    assert rebuilt == set(), f"an unchanged rebuild rebuilt {sorted(rebuilt)}"

    sql = code / "warehouse" / "transforms" / "sql" / "north_south_gaps.sql"
    sql.write_text(sql.read_text() + "\n-- edited: a changed query must rebuild its mart\n")
    _build(code, warehouse_copy)
    after_sql = _loaded_at(warehouse_copy)
    assert after_sql["mart_north_south__gaps"] != unchanged["mart_north_south__gaps"]
    assert after_sql["core_geo__areas"] == unchanged["core_geo__areas"]

    parser = code / "sources" / "deprivation.py"
    parser.write_text(parser.read_text() + "\n# edited: a changed parser must rebuild its tables\n")
    _build(code, warehouse_copy)
    after_parser = _loaded_at(warehouse_copy)
    assert after_parser["core_deprivation__lad_summaries"] != after_sql["core_deprivation__lad_summaries"]
    assert after_parser["core_geo__areas"] == after_sql["core_geo__areas"]


@pytest.mark.slow
def test_a_failed_correctness_check_stops_the_publish_and_names_itself(warehouse_copy, tmp_path):
    """A bundled file whose England confidence interval is inverted: the contract accepts each value, the blocking
    check ``confidence_intervals_not_inverted`` fails, ``observatory build`` exits non-zero naming it, and the
    published warehouse is byte-identical."""
    import hashlib
    import re

    code = _code_copy(tmp_path)
    csv = code / "sources" / "snapshot" / "fingertips" / "fingertips_export_93356_countyUA_2015-2017.csv"
    text = csv.read_text(encoding="utf-8")
    england = "E92000001,England,Country,Persons,All ages,,,2015,94.7261896202678,93.9129396546008,95.5447303303505"
    assert england in text
    csv.write_text(text.replace(england, england.replace("93.9129396546008,95.5447303303505", "95.5447303303505,93.9129396546008")),
                   encoding="utf-8")
    catalogue = code / "sources" / "snapshot" / "catalogue.toml"
    new_sha = hashlib.sha256(csv.read_bytes()).hexdigest()
    catalogue.write_text(re.sub(r"26e306e1426f7607d3cddeb06cc5adbd15e5ecc88c3edc6d3352fab67f4f06c8", new_sha, catalogue.read_text()))
    before = hashlib.sha256(warehouse_copy.read_bytes()).hexdigest()

    result = subprocess.run([sys.executable, "-c", "from pipelines.cli import app; app()", "build", "--warehouse", str(warehouse_copy)],
                            cwd=code, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "confidence_intervals_not_inverted" in said and "inverted" in said
    assert hashlib.sha256(warehouse_copy.read_bytes()).hexdigest() == before
