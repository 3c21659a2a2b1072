"""Exports: Parquet/CSV of every published table plus a Frictionless data package that validates."""

import json

import duckdb
import frictionless
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from warehouse.engine import ddl
from warehouse.engine.registry import REGISTRY
from warehouse.outputs.export import export


def test_csv_export_is_a_valid_frictionless_package(built_warehouse, tmp_path):
    report = export(built_warehouse, tmp_path, "csv")
    assert report.tables["core_geo__areas"] == 342
    report_v = frictionless.validate(str(report.descriptor), limit_rows=5000)
    assert report_v.valid, [e.message for t in report_v.tasks for e in t.errors][:5]
    package = json.loads(report.descriptor.read_text())
    areas = next(r for r in package["resources"] if r["name"] == "core_geo__areas")
    fields = {f["name"]: f for f in areas["schema"]["fields"]}
    assert areas["schema"]["primaryKey"] == ["area_code"]
    assert fields["area_type"]["constraints"]["enum"][0] == "country"
    assert "ONS GSS code" in fields["area_code"]["description"]
    population = next(r for r in package["resources"] if r["name"] == "core_population__estimates")
    assert next(f for f in population["schema"]["fields"] if f["name"] == "population")["unit"] == "persons"
    assert any(lic["name"] == "OGL-UK-3.0" for lic in package["licenses"])
    assert population["sources"] and population["licenses"]


@pytest.mark.slow
def test_parquet_export_is_a_valid_frictionless_package(built_warehouse, tmp_path):
    """A NULL in a number or integer column reads back through pandas as NaN ("nan"): declared as missing, not an error."""
    report = export(built_warehouse, tmp_path, "parquet")
    package = json.loads(report.descriptor.read_text())
    assert all(r["schema"]["missingValues"] == ["", "nan", "NaN"] for r in package["resources"])
    validation = frictionless.validate(str(report.descriptor), limit_rows=2000)
    assert validation.valid, [(t.name, e.message) for t in validation.tasks for e in t.errors][:5]
    nullable_numbers = [r["name"] for r in package["resources"] for f in r["schema"]["fields"]
                        if f["type"] in ("integer", "number") and not f["constraints"]["required"]]
    assert nullable_numbers  # the case this guards is really exercised


def test_parquet_export_round_trips(built_warehouse, tmp_path):
    report = export(built_warehouse, tmp_path, "parquet")
    con = duckdb.connect()
    for name, rows in report.tables.items():
        assert con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path / (name + '.parquet')}')").fetchall()[0][0] == rows
    package = frictionless.Package(str(report.descriptor))
    assert {r.name for r in package.resources} == set(report.tables)


def test_an_empty_table_exports_with_its_header_and_validates(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(ddl.create_table_sql(REGISTRY["core_geo__former_areas"]))
    con.close()
    report = export(warehouse, tmp_path / "out", "csv")
    assert report.tables == {"core_geo__former_areas": 0}
    header = (tmp_path / "out" / "core_geo__former_areas.csv").read_text().splitlines()
    assert header[0].startswith("area_code,area_name,area_type")
    assert frictionless.validate(str(report.descriptor)).valid


def test_cli_export(built_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(built_warehouse))
    result = CliRunner().invoke(app, ["export", "--format", "parquet", "--out", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x" / "datapackage.json").exists()
    bad = CliRunner().invoke(app, ["export", "--format", "xlsx", "--out", str(tmp_path / "y")])
    assert bad.exit_code == 2
