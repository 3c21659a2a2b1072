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
