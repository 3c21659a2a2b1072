"""ONS regional economy workbooks: the real bundled files, broken layouts, and the landed indicators."""

import openpyxl
import pandas as pd
import pytest

from sources import ons_economy as econ
from sources.catalogue import catalogue, snapshot_file
from sources.inputs import InputFile, SourceFormatError
from warehouse.engine.contracts import validate
from warehouse.engine.registry import REGISTRY
from warehouse.transforms import economy


def _real(source_id):
    return InputFile(source_id, snapshot_file(source_id), catalogue()[source_id].sha256)


@pytest.fixture(scope="module")
def productivity():
    return econ.parse_workbook(_real("ons_productivity_itl"))


@pytest.fixture(scope="module")
def gdp():
    return econ.parse_workbook(_real("ons_regional_gdp_itl"))


def _value(frame, measure, code, year):
    rows = frame[(frame["measure_id"] == measure) & (frame["itl_code"] == code) & (frame["year"] == year)]
    assert len(rows) == 1, (measure, code, year)
    return rows.iloc[0]


def test_productivity_workbook_values_and_shape(productivity):
    for code, value in {"TLC": 31.94, "TLD": 35.12, "TLE": 32.87, "TLI": 51.53}.items():
        assert _value(productivity, "gva_per_hour_worked_gbp", code, 2021)["value"] == value
    a4 = productivity[productivity["measure_id"] == "gva_per_hour_worked_gbp"]
    levels = a4.drop_duplicates("itl_code")["itl_level"].value_counts().to_dict()
    assert levels == {"UK": 1, "Other": 1, "ITL1": 12, "ITL2": 41, "ITL3": 179}
    assert sorted(a4["year"].unique()) == list(range(2004, 2022))
    jobs = productivity[productivity["measure_id"] == "gva_per_filled_job_gbp"]
    assert sorted(jobs["year"].unique()) == list(range(2002, 2022))
    row = _value(productivity, "gva_per_hour_worked_gbp", "TLC", 2021)
    assert row["source_locator"] == "A4 row 8, column 2021" and row["unit"] == "GBP per hour"
    assert not productivity["itl_name"].str.startswith("Note").any()  # footnotes dropped


def test_regional_gdp_workbook_and_itl1_areas_sum_to_the_uk(gdp, productivity):
    assert _value(gdp, "gva_current_prices_gbp_m", "TLC", 1998)["value"] == 28853
    assert _value(gdp, "total_resident_population", "TLB", 2021)["value"] == 56_536_419
    assert sorted(gdp["year"].unique()) == list(range(1998, 2022))
    both = pd.concat([gdp, productivity], ignore_index=True)
    assert economy.itl1_sum_mismatches(both).empty
    # GDP per head as printed (table 7) agrees with table 5 / table 6 to the pound.
    t5, t6, t7 = (_value(gdp, m, "TLD", 2021)["value"] for m in ("gdp_current_prices_gbp_m", "total_resident_population", "gdp_per_head_gbp"))
    assert abs(t5 * 1e6 / t6 - t7) < 1


def test_parsed_values_pass_the_contract(gdp):
    assert len(validate(REGISTRY["core_economy__itl_values"], gdp)) == len(gdp)


# --- broken workbooks ---------------------------------------------------------------------------------

def _workbook(tmp_path, *, header_row=5, first_cell="ITL level", title="Table A4: Current Price (unsmoothed) GVA (B) per hour worked (£); ITL2 and ITL3 subregions",
              sheet="A4", extra_rows=()):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.cell(1, 1, title)
    for j, year in enumerate([2020, 2021], start=4):
        ws.cell(header_row - 1, j, year)
    for j, h in enumerate([first_cell, "ITL code", "Region name", "£", "£"], start=1):
        ws.cell(header_row, j, h)
    rows = [("UK", "UKX", "UK less Extra-Regio", 37.0, 38.68), ("ITL1", "TLC", "North East", 30.5, 31.94), *extra_rows,
            (None, None, None, None, None), ("Note 1: Data are current price.", None, None, None, None),
            ("Source: Office for National Statistics", None, None, None, None)]
    for i, row in enumerate(rows, start=header_row + 1):
        for j, v in enumerate(row, start=1):
            if v is not None:
                ws.cell(i, j, v)
    path = tmp_path / "itlproductivity.xlsx"
    wb.save(path)
    return path


def _parse_a4(path):
    from python_calamine import CalamineWorkbook

    f = InputFile("ons_productivity_itl", path, "a" * 64)
    series = econ.SERIES["gva_per_hour_worked_gbp"]
    sheet, rows = econ._find_sheet(CalamineWorkbook.from_path(str(path)), series, f)
    return econ.parse_table(rows, sheet, series, f)


def test_a_header_row_that_moved_is_found_and_footnotes_are_dropped(tmp_path):
    frame = _parse_a4(_workbook(tmp_path, header_row=9))
    assert sorted(frame["itl_code"].unique()) == ["TLC", "UKX"] and len(frame) == 4
    assert frame.loc[frame["itl_code"] == "TLC", "source_locator"].iloc[-1] == "A4 row 11, column 2021"


def test_a_renamed_header_fails_clearly(tmp_path):
    with pytest.raises(SourceFormatError, match=r"itlproductivity.xlsx.*sheet 'A4': no header row starting with 'ITL level' or 'ITL'"):
        _parse_a4(_workbook(tmp_path, first_cell="Area level"))


def test_a_renamed_sheet_is_found_by_its_title_and_a_changed_title_fails(tmp_path):
    assert len(_parse_a4(_workbook(tmp_path, sheet="Table 4"))) == 4
    with pytest.raises(SourceFormatError, match=r"cannot find the table for gva_per_hour_worked_gbp"):
        _parse_a4(_workbook(tmp_path, title="Table A4: GVA per hour worked index"))


def test_an_unexpected_row_fails_clearly(tmp_path):
    with pytest.raises(SourceFormatError, match=r"row 8 has ITL level 'ITL4' and code 'TLC111'"):
        _parse_a4(_workbook(tmp_path, extra_rows=[("ITL4", "TLC111", "Somewhere", 1.0, 2.0)]))


# --- mapping and indicators (built warehouse) ---------------------------------------------------------

def test_itl1_areas_are_the_nine_regions_and_single_lad_itl3s_are_lads(query):
    mapped = dict(query("SELECT itl_code, area_code FROM core_economy__itl_areas WHERE equivalence IN ('region', 'country')").itertuples(index=False))
    assert mapped == {"TLB": "E92000001", **{f"TL{c}": f"E1200000{i}" for i, c in enumerate("CDEFGHIJK", start=1)}}
    lads = dict(query("SELECT itl_code, area_code FROM core_economy__itl_areas WHERE equivalence = 'lad'").itertuples(index=False))
    assert lads["TLC13"] == "E06000005"  # Darlington
    assert "E06000063" not in lads.values()  # Cumberland straddles two ITL3 areas
    straddle = query("SELECT DISTINCT lad_code FROM core_economy__lad_itl3 WHERE lad_in_several_itl3")
    assert set(straddle["lad_code"]) == {"E06000063", "E06000064"}


def test_economy_indicators_for_regions_lads_and_groups(query):
    rows = query("""SELECT area_code, value, method, denominator FROM core_indicators__values
                    WHERE indicator_id = 'gva_per_hour_worked_gbp' AND period_label = '2021'""").set_index("area_code")
    assert rows.loc["E12000001", "value"] == 31.94 and rows.loc["E12000001", "method"] == "published"
    assert rows.loc["E06000005", "value"] > 0  # Darlington, an ITL3 by itself
    # The North: weekly hours-weighted mean of its three regions (= Σ GVA ÷ Σ hours), recomputed, not averaged.
    hours = query("""SELECT itl_code, value FROM core_economy__itl_values WHERE measure_id = 'hours_worked_per_week'
                     AND year = 2021 AND itl_code IN ('TLC', 'TLD', 'TLE')""").set_index("itl_code")["value"]
    expected = (31.94 * hours["TLC"] + 35.12 * hours["TLD"] + 32.87 * hours["TLE"]) / hours.sum()
    assert rows.loc["north", "value"] == pytest.approx(expected) and rows.loc["north", "method"] == "recomputed_from_counts"
    assert rows.loc["greater_south_east", "value"] > rows.loc["E92000001", "value"] > rows.loc["north", "value"]
    per_head = query("""SELECT area_code, value, count, denominator FROM core_indicators__values
                        WHERE indicator_id = 'gva_per_head_gbp' AND period_label = '2021' AND area_code IN ('north', 'E12000001')""").set_index("area_code")
    assert per_head.loc["E12000001", "value"] == pytest.approx(56483e6 / 2_646_772)
    assert per_head.loc["north", "value"] == pytest.approx(per_head.loc["north", "count"] / per_head.loc["north", "denominator"])
    defs = query("SELECT * FROM core_indicators__definitions WHERE domain = 'economy'")
    assert {"gva_per_hour_worked_gbp", "gva_per_hour_worked_index", "gva_per_filled_job_gbp", "gdp_per_head_gbp", "gva_per_head_gbp",
            "total_resident_population"} <= set(defs["indicator_id"])
    assert set(defs["licence"]) == {"OGL-UK-3.0"}


def test_every_region_has_productivity_and_output_per_head(query):
    counts = query("""SELECT indicator_id, count(DISTINCT area_code) AS n FROM core_indicators__values v
                      JOIN core_geo__areas a USING (area_code) WHERE a.area_type = 'region' AND period_label = '2021'
                      GROUP BY 1""").set_index("indicator_id")["n"]
    for indicator in ("gva_per_hour_worked_gbp", "gva_per_filled_job_gbp", "gdp_per_head_gbp", "gva_per_head_gbp", "total_resident_population"):
        assert counts[indicator] == 9, indicator


def test_gaps_mart_compares_north_and_greater_south_east_on_the_economy(query):
    gaps = query("""SELECT indicator_id, north_value, gse_value, england_value, absolute_gap, relative_gap, north_position
                    FROM mart_north_south__gaps WHERE period_label = '2021'""").set_index("indicator_id")
    for indicator in ("gva_per_hour_worked_gbp", "gva_per_filled_job_gbp", "gdp_per_head_gbp", "gva_per_head_gbp", "gva_per_hour_worked_index"):
        row = gaps.loc[indicator]
        assert row["north_position"] == "worse" and row["absolute_gap"] < 0, indicator
        assert row["relative_gap"] == pytest.approx(row["absolute_gap"] / row["gse_value"])
        assert row["england_value"] is not None
    assert "gva_per_hour_worked_cvm_index" not in gaps.index  # chained-volume indices are never aggregated
