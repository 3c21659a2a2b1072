"""The real Dagster definitions, materialised in-process on the bundled snapshot."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import duckdb
import openpyxl
import pytest
from dagster import AssetKey

from pipelines.errors import user_message
from tests.conftest import REPO_ROOT, run_refresh
from warehouse.engine.paths import ENV_VAR, warehouse_paths
from warehouse.engine.registry import REGISTRY


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_definitions_load_with_jobs_schedules_and_pools():
    from pipelines.definitions import defs

    repo = defs.get_repository_def()
    assert "refresh_all" in repo.job_names
    assert "monthly_refresh" in [s.name for s in repo.schedule_defs]
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_ons__mye2021", "raw_ons__mye2023", "core_geo__areas", "core_geo__area_membership",
            "core_population__estimates", "observatory_warehouse"} <= keys
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.group_name, key
    # Every registry table that is not a mart is produced by some asset.
    core_tables = {t for t in REGISTRY if t.startswith("core_")}
    assert core_tables <= keys


def test_every_union_view_is_made_after_each_table_it_unions():
    from pipelines.definitions import defs
    from warehouse.engine.registry import REGISTRY

    graph = defs.resolve_asset_graph()
    unions = [t for t in REGISTRY.values() if t.union_of]
    assert unions
    for view in unions:
        parents = {k.path[-1] for k in graph.get(AssetKey(view.name)).parent_keys}
        assert set(view.union_of) <= parents, f"{view.name} is not made after {set(view.union_of) - parents}"


def test_dagster_definitions_validate_passes(tmp_path):
    env = {"DAGSTER_HOME": str(tmp_path), "PATH": str(REPO_ROOT / ".venv" / "bin")}
    shutil.copyfile(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    result = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "dagster"), "definitions", "validate", "-m", "pipelines.definitions"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful" in result.stderr + result.stdout


def test_full_build_publishes_every_table_with_comments(built_warehouse, query):
    from warehouse.engine.queries import table_comments

    con = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        comments = table_comments(con)
    finally:
        con.close()
    assert {"core_geo__areas", "core_population__estimates", "core_provenance__files", "core_indicators__values"} <= set(comments)
    assert all(comments.values())
    assert query("SELECT count(*) AS n FROM duckdb_views() WHERE view_name = 'core_population__estimates'")["n"].iloc[0] == 1  # stored as a view


def test_area_types_in_the_published_warehouse(query):
    counts = dict(query("SELECT area_type, count(*) AS n FROM core_geo__areas GROUP BY 1").itertuples(index=False))
    assert counts["lad"] == 296 and counts["region"] == 9 and counts["country"] == 1 and counts["group"] == 2
    assert counts["combined_authority"] >= 12


def test_lads_in_macro_and_footprints(query):
    rows = query("SELECT lad_code FROM lads_in('E47000014', DATE '2024-06-01')")
    assert len(rows) == 7
    assert len(query("SELECT * FROM lads_in('E47000011', DATE '2020-01-01')")) == 3


def test_population_totals_for_every_ca_and_region_match_member_lads(query):
    missing = query("""
        SELECT a.area_code, y.year FROM core_geo__areas a CROSS JOIN (VALUES (2021), (2023)) y(year)
        WHERE a.area_type IN ('combined_authority', 'region', 'group')
          AND NOT EXISTS (SELECT 1 FROM core_population__estimates p WHERE p.area_code = a.area_code AND p.year = y.year
                          AND p.sex = 'persons' AND p.age = 'all')""")
    assert missing.empty, missing
    mismatches = query("""
        WITH members AS (
          SELECT f.area_code, y.year, f.lad_code FROM core_geo__lad_footprints f
          CROSS JOIN (VALUES (2021), (2023)) y(year)
          JOIN core_geo__areas a ON a.area_code = f.area_code AND a.area_type IN ('region')
          WHERE (f.valid_from IS NULL OR f.valid_from <= make_date(y.year, 6, 30))
            AND (f.valid_to IS NULL OR f.valid_to >= make_date(y.year, 6, 30)))
        SELECT m.area_code, m.year, sum(l.population) AS lad_sum, any_value(p.population) AS published
        FROM members m
        JOIN core_population__estimates l ON l.area_code = m.lad_code AND l.year = m.year AND l.sex = 'persons' AND l.age = 'all'
        JOIN core_population__estimates p ON p.area_code = m.area_code AND p.year = m.year AND p.sex = 'persons' AND p.age = 'all'
        GROUP BY 1, 2 HAVING lad_sum <> published""")
    assert mismatches.empty, mismatches
    tees = query("SELECT population FROM core_population__estimates WHERE area_code = 'E47000006' AND year = 2021 AND sex = 'persons' AND age = 'all'")
    assert int(tees.iloc[0, 0]) == 678_173


def test_every_row_traces_to_a_recorded_file(query):
    for table in ["core_geo__areas", "core_geo__area_membership", "core_population__estimates"]:
        orphans = query(f"SELECT count(*) FROM {table} t LEFT JOIN core_provenance__files p ON p.sha256 = t.source_sha256 WHERE p.sha256 IS NULL")
        assert orphans.iloc[0, 0] == 0, table
    files = query("SELECT * FROM core_provenance__files")
    assert set(files["mode"]) == {"snapshot"} and files["licence"].notna().all()


def test_second_refresh_does_not_parse_unchanged_files(warehouse_copy):
    from pipelines import offload

    before = duckdb.connect(str(warehouse_copy), read_only=True)
    provenance_before = before.execute("SELECT sha256, retrieved_at FROM core_provenance__files ORDER BY 1").fetchall()
    before.close()
    handed = offload.counts["ahead"]
    result = run_refresh(warehouse_copy)
    assert offload.counts["ahead"] == handed  # no known file was even given to a helper
    skipped = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()
               if m.materialization.metadata.get("skipped")}
    assert {"core_geo__areas", "core_population__estimates"} <= skipped
    after = duckdb.connect(str(warehouse_copy), read_only=True)
    assert after.execute("SELECT sha256, retrieved_at FROM core_provenance__files ORDER BY 1").fetchall() == provenance_before
    after.close()


def test_each_check_runs_in_the_step_that_lands_its_table():
    """No step of its own: every step of refresh_all materialises tables, and each check belongs to its table's step."""
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    asset_steps = {a.node_def.name for a in graph.assets_defs if a.is_executable and a.keys}
    assert set(defs.resolve_job_def("refresh_all").graph.node_names()) <= asset_steps
    assert graph.asset_check_keys
    for key in graph.asset_check_keys:
        [owner] = [a for a in graph.assets_defs if key in a.check_keys]
        assert key.asset_key in owner.keys and owner.node_def.name in asset_steps, key


def test_a_check_selected_alone_runs_without_landing_its_table(warehouse_copy):
    """As the UI's "execute check" does after a build: the step (whose inputs are the build's, from the instance's
    storage) runs the check on the working database and lands nothing."""
    from dagster import AssetCheckKey, DagsterInstance

    from pipelines.definitions import defs

    instance = DagsterInstance.ephemeral()
    os.environ[ENV_VAR] = str(warehouse_copy)
    try:
        assert defs.resolve_job_def("refresh_all").execute_in_process(instance=instance).success
    finally:
        os.environ.pop(ENV_VAR, None)
    con = duckdb.connect(str(warehouse_paths(warehouse_copy).working))
    con.execute("UPDATE core_health__indicator_values SET lower_ci_95 = value + 1 WHERE indicator_id = '93356' "
                "AND area_code = 'E06000001' AND period_label = '2015' AND age = 'all'")
    con.close()
    key = AssetCheckKey(AssetKey("core_health__indicator_values"), "confidence_intervals_not_inverted")
    os.environ[ENV_VAR] = str(warehouse_copy)
    try:
        job = defs.resolve_job_def("refresh_all").get_subset(asset_check_selection={key})
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    finally:
        os.environ.pop(ENV_VAR, None)
    assert not result.success  # the check is blocking
    assert result.get_asset_materialization_events() == []
    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.asset_key, evaluation.check_name, evaluation.passed) == (key.asset_key, key.name, False)
    assert "E06000001" in evaluation.metadata["first"].value


@pytest.fixture()
def broken_snapshot(scratch_snapshot):
    """A scratch snapshot whose mid-2023 workbook has a negative population (catalogue updated to match)."""
    workbook_path = scratch_snapshot.file("ons_mye2023")
    wb = openpyxl.load_workbook(workbook_path)
    wb["MYE2 - Persons"]["D12"] = -42
    wb.save(workbook_path)
    scratch_snapshot.rehash("ons_mye2023")
    return scratch_snapshot


def test_a_bad_value_fails_the_run_and_leaves_the_published_warehouse_intact(warehouse_copy, broken_snapshot):
    before = _digest(warehouse_copy)
    result = run_refresh(warehouse_copy, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["core_population"]
    message = user_message(failures[0].step_failure_data.error)
    assert "core_population__estimates" in message and "'population'" in message and "-42" in message
    assert "mye23tablesew.xlsx" in message
    assert _digest(warehouse_copy) == before
    con = duckdb.connect(str(warehouse_copy), read_only=True)
    assert con.execute("SELECT count(*) FROM core_population__estimates WHERE population < 0").fetchall()[0][0] == 0
    con.close()


def test_readers_never_see_errors_or_half_builds_during_a_full_refresh(warehouse_copy, tmp_path):
    shutil.rmtree(warehouse_paths(warehouse_copy).build_dir)  # force a full rebuild: every table parsed and loaded again
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, "-m", "tests.support.reader", str(warehouse_copy), str(stop), str(out)], cwd=REPO_ROOT)
    try:
        time.sleep(1.0)
        assert run_refresh(warehouse_copy).success
        time.sleep(0.5)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    summary = json.loads(out.read_text())
    assert summary["errors"] == 0, summary["error_texts"]
    assert summary["queries"] > 20
    assert summary["answers"] == ['[342, 57690323, 56536419]'] or len(summary["answers"]) == 1, summary["answers"]


def test_a_source_that_cannot_land_fails_its_step_by_name_after_the_others_landed(scratch_snapshot, tmp_path):
    from dagster import AssetKey

    from pipelines.assets.geography import GEO_TABLES, RAW

    scratch_snapshot.file("mysociety_local_authorities").unlink()  # one bundled file gone
    result = run_refresh(tmp_path / "observatory.duckdb", raise_on_error=False,
                         selection=[AssetKey(k) for k in [*RAW, *GEO_TABLES]])
    assert not result.success
    landed = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert landed == set(RAW) - {"raw_mysociety__local_authorities"}  # the others landed; nothing was built from them
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "land_geography_files"
    assert "mysociety_local_authorities" in user_message(failure.step_failure_data.error)


def test_every_source_that_cannot_land_is_named(scratch_snapshot, tmp_path):
    from dagster import AssetKey

    from pipelines.assets.geography import RAW

    for source_id in ("mysociety_local_authorities", "ons_geo_lad18_rgn18"):
        scratch_snapshot.file(source_id).unlink()
    result = run_refresh(tmp_path / "observatory.duckdb", raise_on_error=False, selection=[AssetKey(k) for k in RAW])
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = user_message(failure.step_failure_data.error)
    assert "raw_mysociety__local_authorities (mysociety_local_authorities)" in message
    assert "raw_ons__lad18_rgn18 (ons_geo_lad18_rgn18)" in message


def test_a_cold_build_hands_each_new_file_to_a_helper_and_uses_what_it_parsed(tmp_path):
    from dagster import AssetKey

    from pipelines import offload
    from pipelines.assets import economy, geography

    before = dict(offload.counts)
    keys = [*economy.RAW, *geography.RAW, *geography.GEO_TABLES, *economy.TABLES]
    result = run_refresh(tmp_path / "observatory.duckdb", selection=[AssetKey(k) for k in keys])
    assert result.success
    moved = {k: offload.counts[k] - before[k] for k in offload.counts}
    if offload.helpers():
        # the two economy workbooks (geography's lookups are read together by one function, not parsed ahead); each
        # was taken from its helper or, if still queued when the step needed it, parsed in the run's process
        assert moved["ahead"] == 2 and moved["taken"] + moved["dropped"] == 2 and moved["redone"] == 0, moved
    else:
        assert moved == {k: 0 for k in moved}


def test_the_outputs_step_draws_either_output_alone_and_skips_what_is_newer_than_the_publish(warehouse_copy):
    from dagster import AssetKey

    paths = warehouse_paths(warehouse_copy)
    shutil.rmtree(paths.outputs)
    report, index = paths.outputs / "observatory_report.html", paths.outputs / "profiles" / "index.html"

    pages_only = run_refresh(warehouse_copy, selection=[AssetKey("observatory_pages")])
    assert {m.asset_key.to_user_string() for m in pages_only.get_asset_materialization_events()} == {"observatory_pages"}
    assert index.exists() and (paths.outputs / "north_south.html").exists() and not report.exists()
    assert len(list(index.parent.glob("E*.html"))) > 300  # a page per area

    from pipelines import offload

    before = dict(offload.counts)
    report_only = run_refresh(warehouse_copy, selection=[AssetKey("observatory_report")])
    assert {m.asset_key.to_user_string() for m in report_only.get_asset_materialization_events()} == {"observatory_report"}
    assert report.exists() and "<img" in report.read_text()
    assert offload.counts == before  # drawn alone, it is drawn here: no helper is started for work nothing overlaps

    again = run_refresh(warehouse_copy, selection=[AssetKey("observatory_report"), AssetKey("observatory_pages")])
    skipped = {m.asset_key.to_user_string(): m.materialization.metadata.get("skipped") for m in again.get_asset_materialization_events()}
    assert set(skipped) == {"observatory_report", "observatory_pages"} and all(skipped.values())  # nothing published since
