"""The `observatory` command against a built warehouse: read-only SQL, tables, describe, dictionary."""

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from warehouse.outputs.dictionary import DICTIONARY_PATH, render

runner = CliRunner()


@pytest.fixture()
def cli(built_warehouse, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(built_warehouse))
    monkeypatch.setenv("COLUMNS", "200")

    def _run(*args):
        return runner.invoke(app, list(args))
    return _run


def test_sql_answers_the_area_type_question(cli):
    result = cli("sql", "SELECT area_type, count(*) AS n FROM core_geo__areas GROUP BY 1 ORDER BY 1", "--format", "json")
    assert result.exit_code == 0, result.output
    counts = {r["area_type"]: r["n"] for r in json.loads(result.stdout)}
    assert counts["lad"] == 296 and counts["region"] == 9 and counts["group"] == 2


def test_sql_csv_and_table_formats(cli):
    csv = cli("sql", "SELECT area_code, area_name FROM core_geo__areas WHERE area_code = 'E06000010'", "--format", "csv")
    assert csv.stdout.splitlines() == ["area_code,area_name", 'E06000010,"Kingston upon Hull, City of"']
    table = cli("sql", "SELECT 1 AS one")
    assert "1 row(s)" in table.stdout


@pytest.mark.parametrize("statement", [
    "DELETE FROM core_geo__areas",
    "CREATE TABLE x AS SELECT 1",
    "ATTACH 'other.duckdb' AS other",
    "INSTALL httpfs",
    "COPY core_geo__areas TO 'out.csv'",
    "SELECT 1; DROP TABLE core_geo__areas",
])
def test_sql_refuses_statements_that_write_attach_or_install(cli, statement, built_warehouse):
    result = cli("sql", statement)
    assert result.exit_code == 2
    assert "Refused" in result.output and "read-only" in result.output


def test_sql_cannot_read_files_unless_allowed(cli, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n")
    refused = cli("sql", f"SELECT * FROM read_csv('{data}')")
    assert refused.exit_code == 1 and "Query failed" in refused.output
    allowed = cli("sql", f"SELECT * FROM read_csv('{data}')", "--allow-files", "--format", "csv")
    assert allowed.exit_code == 0 and allowed.stdout.splitlines() == ["a", "1"]


def test_tables_lists_row_counts_and_descriptions(cli):
    result = cli("tables")
    assert result.exit_code == 0
    assert "core_population__estimates" in result.stdout and "core_geo__areas" in result.stdout
    assert "296" in result.stdout or "342" in result.stdout


def test_tables_reads_the_catalogue_without_loading_pandas(built_warehouse):
    """`observatory tables` (and the summary an up-to-date build prints) answers from DuckDB's catalogue: neither the
    registry nor a bound query parameter may load pandas (about 0.35 s and 80 MB for a command that takes 0.35 s)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    probe = ("import sys; from pipelines.cli import app; sys.argv = ['observatory', 'tables']\n"
             "try:\n    app()\nexcept SystemExit:\n    pass\nprint('pandas loaded:', 'pandas' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OBSERVATORY_WAREHOUSE": str(built_warehouse), "COLUMNS": "200"})
    assert "core_population__estimates" in result.stdout  # the registry's view, listed with the tables
    assert result.stdout.strip().endswith("pandas loaded: False"), result.stdout[-500:] + result.stderr[-2000:]


def test_describe_shows_units_and_licences(cli):
    result = cli("describe", "core_population__estimates")
    assert result.exit_code == 0
    assert "persons" in result.stdout and "OGL-UK-3.0" in result.stdout and "Grain" in result.stdout
    assert cli("describe", "no_such_table").exit_code == 2


def test_missing_warehouse_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(tmp_path / "none.duckdb"))
    result = runner.invoke(app, ["tables"])
    assert result.exit_code == 2 and "observatory build" in result.output


def test_data_dictionary_is_in_sync_with_the_registry():
    assert DICTIONARY_PATH.read_text(encoding="utf-8") == render(), "run `observatory dictionary` to regenerate docs/data_dictionary.md"


# --- analyst commands and the sql renderer ---------------------------------------------------------

def test_sql_prints_null_as_null_and_uses_duckdbs_box_renderer(cli):
    result = cli("sql", "SELECT NULL::DOUBLE AS missing, 1 AS one")
    assert result.exit_code == 0, result.output
    assert "NULL" in result.stdout and "nan" not in result.stdout and "┌" in result.stdout


def test_wide_select_star_shows_the_first_rows_and_says_what_was_left_out(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    result = cli("sql", "SELECT * FROM core_population__estimates")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "E92000001" in out or "K02000001" in out  # real data, not a grid of ellipses
    assert "shown)" in out  # DuckDB's footer: "11 columns (6 shown)"
    assert "First 40 row(s) shown; there are more" in out
    limited = cli("sql", "SELECT * FROM core_geo__areas ORDER BY area_code", "--limit", "3")
    assert "First 3 row(s) shown" in limited.stdout


def test_sql_csv_streams_every_row_unless_limited(cli, query):
    total = int(query("SELECT count(*) AS n FROM core_geo__areas")["n"][0])
    everything = cli("sql", "SELECT area_code FROM core_geo__areas", "--format", "csv")
    assert len(everything.stdout.splitlines()) == total + 1
    few = cli("sql", "SELECT area_code FROM core_geo__areas", "--format", "json", "--limit", "2")
    assert len(json.loads(few.stdout)) == 2
    empty = cli("sql", "SELECT area_code FROM core_geo__areas WHERE false", "--format", "csv")
    assert empty.stdout.splitlines() == ["area_code"]


def test_describe_shows_views_and_macros(cli):
    view = cli("describe", "core_geo__areas_all")
    assert view.exit_code == 0 and "(view)" in view.stdout and "area_code" in view.stdout and "UNION" in view.stdout.upper()
    macro = cli("describe", "lads_in")
    assert macro.exit_code == 0 and "table_macro" in macro.stdout and "on_date" in macro.stdout


def test_as_of_before_the_first_build_says_so(cli):
    result = cli("sql", "--as-of", "1990-01-01", "SELECT count(*) FROM core_indicators__values")
    assert result.exit_code == 2
    assert "knew no indicator values" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args, code, words", [
    (["profile", "qqqqzzzz"], 2, "No area matches"),
    (["profile", "Newcastle"], 2, "E08000021"),
    (["compare", "Hull"], 2, "at least two areas"),
    (["indicators", "no such measure at all"], 2, "No indicator matches"),
    (["describe", "no_such_thing"], 2, "No table, view or macro"),
    (["sql", "SELECT * FROM no_such_table"], 1, "Query failed"),
])
def test_user_errors_are_one_line_without_traceback(cli, args, code, words):
    result = cli(*args)
    assert result.exit_code == code, result.output
    assert words in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) <= 2


def test_unexpected_errors_are_one_line_and_verbose_shows_the_traceback(cli, monkeypatch):
    import warehouse.outputs.areas as areas

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(areas, "search_indicators", broken)
    quiet = cli("indicators")
    assert quiet.exit_code == 1 and "RuntimeError: disk on fire" in quiet.output and "Traceback" not in quiet.output
    loud = cli("--verbose", "indicators")
    assert loud.exit_code == 1 and "Traceback" in loud.output


def test_indicators_and_areas_search(cli):
    found = cli("indicators", "life expectancy")
    assert found.exit_code == 0 and "90366" in found.stdout
    areas = cli("areas", "hull")
    assert "E06000010" in areas.stdout and "E47000016" in areas.stdout and "Solihull" not in areas.stdout
    regions = cli("areas", "--type", "region")
    assert regions.stdout.count("E1200000") == 9


def test_profile_resolves_hull_and_writes_the_page(cli, tmp_path):
    out = tmp_path / "hull.html"
    result = cli("profile", "Hull", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Kingston upon Hull, City of (E06000010" in result.stdout and "Also matched" in result.stdout
    assert "<svg class='spine'" in out.read_text()


def test_compare_puts_areas_side_by_side(cli):
    result = cli("compare", "Hull", "Leeds", "--indicator", "life expectancy")
    assert result.exit_code == 0, result.output
    assert "Leeds" in result.stdout and "England" in result.stdout and "years" in result.stdout


def test_profile_never_overwrites_what_it_did_not_write(cli, tmp_path, built_warehouse):
    mine = tmp_path / "notes.html"
    mine.write_text("my notes")
    refused = cli("profile", "Hull", "--out", str(mine))
    assert refused.exit_code == 2 and "refusing to overwrite" in refused.output and mine.read_text() == "my notes"
    assert cli("profile", "Hull", "--out", str(built_warehouse)).exit_code == 2
    page = tmp_path / "hull.html"
    assert cli("profile", "Hull", "--out", str(page)).exit_code == 0
    assert cli("profile", "Hull", "--out", str(page)).exit_code == 0  # its own page: replaced
