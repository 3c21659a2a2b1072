"""Fingertips parsers on the real bundled files, and the ways a file can be wrong."""

import datetime as dt
import shutil

import pandas as pd
import pytest

from sources import fingertips as ft
from sources.catalogue import sha256_of, snapshot_file
from sources.inputs import InputFile, SourceFormatError
from tests.support.fingertips_recordings import FIXTURES
from warehouse.engine.contracts import ContractViolation, validate
from warehouse.engine.registry import REGISTRY


def _input(source_id: str, path=None) -> InputFile:
    path = path or snapshot_file(source_id)
    return InputFile(source_id, path, sha256_of(path))


@pytest.fixture(scope="module")
def export_93356() -> pd.DataFrame:
    return ft.parse(_input("fingertips_export_93356"))


# --- the real Fingertips export ----------------------------------------------------------------------


def test_real_export_quirks_are_present_in_the_bundled_file():
    raw = snapshot_file("fingertips_export_93356").read_bytes()
    assert raw.count(b"\r\n") == 853 and b'rate/100,000\n"' in raw  # CRLF records, newline inside a quoted name
    table = ft.read_csv_table(raw, "93356", ["Indicator ID", "Area Code"])
    assert len(table.header) == 26 and len(table.records) == 852
    assert "Compared to Region value or percentiles" in table.header
    assert raw.count(b"\n") == 1705  # 853 records over 1,705 physical lines


def test_real_export_parses_every_record(export_93356):
    df = export_93356
    assert len(df) == 852 and set(df["indicator_id"]) == {"93356"}
    assert set(df["indicator_name"]) == {"Campylobacter incidence rate/100,000"}  # embedded newline stripped
    assert set(df["sex"]) == {"persons"} and {"all", "0-9 yrs"} <= set(df["age"])
    assert set(df["period_label"]) == {"2015", "2016", "2017"}
    # rows shorter than the header were padded, not shifted: the trailing columns still line up
    assert set(df["compared_to_england"]) == {"Better", "Worse", "Similar", "Not compared"}
    assert set(df["period_sortable"].dropna().astype(int)) == {20150000, 20160000, 20170000}
    assert df["category_type"].notna().sum() == 60


def test_real_export_locators_are_the_physical_line_each_record_starts_on(export_93356):
    first = export_93356.iloc[0]
    assert first["source_locator"] == "line 2" and first["area_code"] == "E92000001"
    assert export_93356.iloc[1]["source_locator"] == "line 4"
    last = export_93356.iloc[-1]
    assert last["source_locator"] == "line 1704" and last["area_code"] == "E10000034"
    lines = snapshot_file("fingertips_export_93356").read_bytes().split(b"\n")
    assert lines[1703].startswith(b"93356") and b"E10000034" in lines[1704]


def test_real_export_values_cis_counts_and_parent_comparison(export_93356):
    row = export_93356[(export_93356["area_code"] == "E06000001") & (export_93356["period_label"] == "2015") & (export_93356["age"] == "all")].iloc[0]
    assert row["value"] == pytest.approx(142.713502643443)
    assert (row["lower_ci_95"], row["upper_ci_95"]) == (pytest.approx(119.407207217347), pytest.approx(169.240005685604))
    assert (row["count"], row["denominator"]) == (132, 92493)
    assert row["parent_code"] == "E12000001" and row["compared_to_parent"] == "Similar" and row["compared_to_england"] == "Worse"
    assert (row["period_start"], row["period_end"]) == (dt.date(2015, 1, 1), dt.date(2015, 12, 31))
    assert row["declared_vintage"] is None  # "County & UA" names no vintage


def test_parent_comparison_column_is_found_by_pattern_whatever_its_name():
    raw = snapshot_file("fingertips_export_93356").read_bytes()
    for name in (b"Compared to Counties & UAs (from Apr 2021) value or percentiles", b"Compared to percentiles", b"Column not used"):
        renamed = raw.replace(b"Compared to Region value or percentiles", name, 1)
        df = ft.parse_fingertips_bytes(renamed, InputFile("fingertips_export_93356", snapshot_file("fingertips_export_93356"), "0" * 64))
        hartlepool = df[(df["area_code"] == "E06000001") & (df["period_label"] == "2015") & (df["age"] == "all")].iloc[0]
        assert hartlepool["compared_to_parent"] == (None if name == b"Column not used" else "Similar")


def test_api_layout_sample_dedupes_england_and_reads_the_declared_vintage():
    path = FIXTURES / "all_data_90362_sample.csv"
    df = ft.parse(InputFile("fingertips_90362_hle", path, sha256_of(path)))
    england = df[df["area_code"] == "E92000001"]
    # listed once as its own child (dropped) and once under each of two regions (kept once)
    assert len(england) == 4 and england["parent_code"].isna().all()
    assert set(df.loc[df["area_code"] != "E92000001", "declared_vintage"]) == {"2023"}
    hull = df[(df["area_code"] == "E06000010") & (df["sex"] == "male") & (df["period_label"] == "2022 - 24")].iloc[0]
    assert hull["value"] == 53.1 and hull["compared_to_england"] == "Worse" and hull["parent_code"] == "E12000003"


# --- the re-shaped bundled copies -------------------------------------------------------------------------


@pytest.mark.parametrize("source_id, rows, areas, periods, sexes", [
    ("fingertips_90362_hle", 2128, 133, 8, {"male", "female"}),
    ("fingertips_90366_le", 5516, 314, 9, {"male", "female"}),
    ("fingertips_93721_u75_preventable", 9801, 297, 11, {"male", "female", "persons"}),
    ("fingertips_40502_u75_preventable_cancer", 4920, 328, 15, {"persons"}),
])
def test_reshaped_files_map_every_row(source_id, rows, areas, periods, sexes):
    df = ft.parse(_input(source_id))
    assert len(df) == rows and df["area_code"].nunique() == areas and df["period_label"].nunique() == periods
    assert set(df["sex"]) == sexes
    assert df["source_locator"].iloc[0] == "line 2" and df["source_locator"].iloc[-1] == f"line {rows + 1}"
    assert (df["period_start"] <= df["period_end"]).all()
    assert df["value"].isna().sum() > 0  # NA -> NULL, not text


def test_hull_hle_is_mapped_faithfully():
    df = ft.parse(_input("fingertips_90362_hle"))
    hull = df[df["area_code"] == "E06000010"].set_index(["sex", "period_label"])
    assert len(hull) == 16
    assert hull.loc[("male", "2015 - 17"), "value"] == 57.3 and hull.loc[("female", "2022 - 24"), "value"] == 53.3
    assert hull.loc[("male", "2015 - 17"), "source_locator"] == "line 27"
    assert set(hull["compared_to_england"]) == {"Worse"} and set(hull["age"]) == {"all"}


def test_cancer_periods_are_normalised_to_the_publishers_spelling():
    df = ft.parse(_input("fingertips_40502_u75_preventable_cancer"))
    gm = df[(df["area_code"] == "E47000001") & (df["period_label"] == "2001 - 03")].iloc[0]
    assert gm["value"] == 118.6 and gm["compared_to_england"] == "Worse" and gm["age"] == "<75 yrs"
    assert (gm["period_start"], gm["period_end"]) == (dt.date(2001, 1, 1), dt.date(2003, 12, 31))


# --- periods ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label, year_type, start, end", [
    ("2015 - 17", "calendar", dt.date(2015, 1, 1), dt.date(2017, 12, 31)),
    ("2001-03", "calendar", dt.date(2001, 1, 1), dt.date(2003, 12, 31)),
    ("1999 - 01", "calendar", dt.date(1999, 1, 1), dt.date(2001, 12, 31)),
    ("2014", "calendar", dt.date(2014, 1, 1), dt.date(2014, 12, 31)),
    ("2022/23", "financial", dt.date(2022, 4, 1), dt.date(2023, 3, 31)),
    ("2022/23", "academic", dt.date(2022, 9, 1), dt.date(2023, 8, 31)),
    ("2019/20 - 21/22", "financial", dt.date(2019, 4, 1), dt.date(2022, 3, 31)),
    ("2023/24 Q3", "financial", dt.date(2023, 10, 1), dt.date(2023, 12, 31)),
    ("2023/24 Q4", "financial", dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
    ("2023 Q1", "calendar", dt.date(2023, 1, 1), dt.date(2023, 3, 31)),
    ("Mar 2024", "calendar", dt.date(2024, 3, 1), dt.date(2024, 3, 31)),
])
def test_period_labels(label, year_type, start, end):
    assert ft.parse_period(label, year_type) == (start, end)


def test_an_unknown_period_label_names_the_file_and_line(tmp_path):
    path = tmp_path / "hle.csv"
    text = snapshot_file("fingertips_90362_hle").read_text().replace("2016 - 18", "sometime", 1)
    path.write_text(text)
    with pytest.raises(SourceFormatError, match=r"hle.csv.*line 4: unrecognised period label 'sometime'"):
        ft.parse(InputFile("fingertips_90362_hle", path, sha256_of(path)))


def test_a_repeated_unknown_period_label_names_the_first_row_holding_any(tmp_path):
    """Each distinct label is parsed once, and the error still names the file's first unreadable row: here 'never'
    (every 2017 - 19 row, first at line 6) and 'sometime' (every 2016 - 18 row, first at line 4)."""
    path = tmp_path / "hle.csv"
    text = snapshot_file("fingertips_90362_hle").read_text().replace("2017 - 19", "never").replace("2016 - 18", "sometime")
    path.write_text(text)
    with pytest.raises(SourceFormatError, match=r"hle.csv.*line 4: unrecognised period label 'sometime'"):
        ft.parse(InputFile("fingertips_90362_hle", path, sha256_of(path)))


# --- failure modes ------------------------------------------------------------------------------------------


def _copy(tmp_path, source_id, transform) -> InputFile:
    path = tmp_path / snapshot_file(source_id).name
    path.write_bytes(transform(snapshot_file(source_id).read_bytes()))
    return InputFile(source_id, path, sha256_of(path))


def test_renamed_required_column_is_refused(tmp_path):
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b.replace(b"Area Code", b"Area Identifier", 1))
    with pytest.raises(SourceFormatError, match="no header row|Area Code"):
        ft.parse_fingertips_csv(f)
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b.replace(b",Time period,", b",Period,", 1))
    with pytest.raises(SourceFormatError, match=r"expected column\(s\) \['Time period'\]"):
        ft.parse_fingertips_csv(f)


def test_moved_header_is_found_by_content(tmp_path):
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b"Fingertips export\r\nDownloaded 2020-12-01\r\n" + b)
    df = ft.parse(f)
    assert len(df) == 852 and df.iloc[0]["source_locator"] == "line 4"


def test_truncated_file_is_refused(tmp_path):
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b[: len(b) // 2])
    with pytest.raises(SourceFormatError, match="truncated|malformed"):
        ft.parse(f)


def test_a_record_longer_than_the_header_is_refused(tmp_path):
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b.replace(b"20150000,\r\n", b"20150000,,,,,extra\r\n", 1))
    with pytest.raises(SourceFormatError, match=r"line 2: 29 fields but the header \(line 1\) has 26"):
        ft.parse(f)


def test_conflicting_duplicates_are_refused(tmp_path):
    raw = snapshot_file("fingertips_export_93356").read_bytes()
    first = raw.split(b"\r\n")[1]
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b + first.replace(b"94.7261896202678", b"99.9", 1) + b"\r\n")
    with pytest.raises(SourceFormatError, match="more than once with different values"):
        ft.parse(f)


def test_wrong_indicator_in_a_reshaped_file_is_refused(tmp_path):
    f = _copy(tmp_path, "fingertips_90362_hle", lambda b: b.replace(b"Healthy life expectancy at birth", b"Disability-free life expectancy"))
    with pytest.raises(SourceFormatError, match=r"Disability-free life expectancy.*90362"):
        ft.parse(f)


def test_bad_value_reaches_the_contract_with_its_row(tmp_path):
    f = _copy(tmp_path, "fingertips_90362_hle", lambda b: b.replace(b"Years,57.3,", b"Years,fifty,", 1))
    df = ft.parse(f)
    assert "fifty" in set(df["value"].astype(str))
    frame = df[df["category_type"].isna()].assign(geography_vintage="2023", method="published")
    with pytest.raises(ContractViolation, match=r"column 'value'.*fifty"):
        validate(REGISTRY["core_health__indicator_values"], frame, [f.label])


def test_unknown_sex_reaches_the_contract(tmp_path):
    f = _copy(tmp_path, "fingertips_90362_hle", lambda b: b.replace(b",Male\n", b",Unknown\n", 1))
    frame = ft.parse(f).assign(geography_vintage="2023", method="published")
    with pytest.raises(ContractViolation, match=r"column 'sex'.*Unknown"):
        validate(REGISTRY["core_health__indicator_values"], frame, [f.label])


def test_not_a_fingertips_file_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    shutil.copyfile(snapshot_file("ons_geo_lad18_rgn18"), path)
    with pytest.raises(SourceFormatError, match="not a Fingertips CSV"):
        ft.parse(InputFile("fingertips_90362_hle", path, sha256_of(path)))


# --- the catalogue --------------------------------------------------------------------------------------


def test_catalogue_covers_the_issue_indicators():
    cat = ft.catalogue()
    assert {"90362", "90366", "93721", "40502", "40401", "40501", "40701"} <= set(cat.indicators)
    assert {i.id for i in cat.indicators.values() if i.id_confidence == "uncertain"} == {"40601", "108"}
    bundled = {s.source_id for s in cat.sources if not s.live_only and not s.archive}
    assert bundled == {"fingertips_90362_hle", "fingertips_90366_le", "fingertips_93721_u75_preventable",
                       "fingertips_40502_u75_preventable_cancer", "fingertips_export_93356", "fingertips_92443_smoking",
                       "fingertips_93088_overweight", "fingertips_93015_inactive", "fingertips_92901_le_inequality"}
    assert {s.source_id for s in cat.sources if s.archive} == {
        "fingertips_90362_hle_2020_06", "fingertips_90362_hle_2024_07", "fingertips_93721_u75_preventable_2024_07"}
    # an uncertain id that the API resolves to another number keeps its catalogue entry
    assert cat.identify("40611", "Under 75 mortality rate from liver disease (1 year range)").short_name == "Liver disease mortality under 75"
    with pytest.raises(SourceFormatError, match="not in fingertips_indicators.toml"):
        cat.identify("99999", "Something else")


def test_a_complete_file_without_a_final_line_break_is_accepted(tmp_path):
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b.rstrip(b"\r\n"))
    assert len(ft.parse(f)) == 852
    f = _copy(tmp_path, "fingertips_export_93356", lambda b: b.rstrip(b"\r\n").rsplit(b",", 8)[0])
    with pytest.raises(SourceFormatError, match=r"line 1704: the last record stops after 17 of 25 fields"):
        ft.parse(f)
