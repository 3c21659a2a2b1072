"""Bad inputs every source can meet, and the message a person sees (see docs/bad_inputs.md)."""

import datetime as dt

import pytest

from pipelines.assets._factory import readable_errors
from sources import geography, ons_population
from sources.catalogue import catalogue, snapshot_file
from sources.inputs import InputFile, SourceFormatError
from sources.landing import LandedFile, land_file


def _landed(path, source_id="ons_mye2023"):
    return LandedFile(source_id, "0" * 64, f"snapshot:{path.name}", path.name, path.stat().st_size, dt.datetime(2026, 1, 1),
                      "ONS", "t", "OGL-UK-3.0", "snapshot", str(path))


def test_a_csv_where_a_workbook_was_expected_is_named(tmp_path):
    wrong = tmp_path / "mye23tablesew.xlsx"
    wrong.write_text("Code,Name\nE06000001,Hartlepool\n")
    f = InputFile("ons_mye2023", wrong, "0" * 64)
    with pytest.raises(SourceFormatError, match=r"mye23tablesew.xlsx.*not a readable Excel workbook"):
        with readable_errors([_landed(wrong)]):
            ons_population.parse_release(f)


def test_a_truncated_workbook_is_named(tmp_path):
    original = snapshot_file("ons_mye2023").read_bytes()
    cut = tmp_path / "mye23tablesew.xlsx"
    cut.write_bytes(original[: len(original) // 2])
    f = InputFile("ons_mye2023", cut, "0" * 64)
    with pytest.raises(SourceFormatError, match="mye23tablesew.xlsx"):
        with readable_errors([_landed(cut)]):
            ons_population.parse_release(f)


def test_a_lookup_in_the_wrong_encoding_is_named(tmp_path):
    ids = ["ons_geo_lad23_itl21", "ons_geo_wd19_hierarchy", "ons_geo_lad18_rgn18", "ons_geo_lad19_cauth19",
           "mysociety_local_authorities", "observatory_geo_amendments", "observatory_analysis_groups"]
    files = {s: InputFile(s, snapshot_file(s), catalogue()[s].sha256) for s in ids}
    utf16 = tmp_path / "lad19_cauth19_en_lu.csv"
    utf16.write_text(snapshot_file("ons_geo_lad19_cauth19").read_text(encoding="utf-8-sig"), encoding="utf-16")
    files["ons_geo_lad19_cauth19"] = InputFile("ons_geo_lad19_cauth19", utf16, "0" * 64)
    with pytest.raises(SourceFormatError, match=r"not UTF-8 text.*another encoding"):
        with readable_errors([_landed(utf16, "ons_geo_lad19_cauth19")]):
            geography.build_bridge(files).areas  # noqa: B018 - the read that must fail


def test_an_oversized_input_is_refused_before_it_is_landed(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_MAX_INPUT_BYTES", "1000")
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" * 1000)
    with pytest.raises(SourceFormatError, match=r"big.csv \(ons_geo_lad19_cauth19\) is 4,000 bytes, over the limit of 1,000"):
        land_file(big, source_id="ons_geo_lad19_cauth19", origin="x", mode="snapshot", landing_root=tmp_path / "landing")
    assert not (tmp_path / "landing").exists() or not any((tmp_path / "landing").rglob("*.csv"))


def test_every_test_named_in_the_bad_input_catalogue_exists():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "bad_inputs.md").read_text(encoding="utf-8")
    named = 0
    for row in text.splitlines():
        current = None
        for path, name in re.findall(r"`(tests/[^`:]+?\.py)?::([a-z0-9_]+)", row):
            current = path or current
            assert current, row
            assert f"def {name}" in (root / current).read_text(encoding="utf-8"), f"{current}::{name} is named in docs/bad_inputs.md but does not exist"
            named += 1
    assert named >= 50


@pytest.mark.parametrize("target, column, message", [
    ("core_geo__areas", "state", "is not a core_reports__\\* table"),
    ("core_reports__nope; DROP TABLE x", "state", "is not a core_reports__\\* table"),
    ("core_reports__nhs_spend_over_25k", "state; DROP TABLE x", "not a plain identifier"),
])
def test_report_specs_name_only_registered_tables_and_plain_columns(tmp_path, target, column, message):
    from sources.reports.specs import load_spec

    spec = tmp_path / "bad.toml"
    spec.write_text(f'name = "bad"\ntarget = "{target}"\n[[column]]\nname = "{column}"\ntype = "text"\n')
    with pytest.raises(SourceFormatError, match=message):
        load_spec(spec)
