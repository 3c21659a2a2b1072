"""ONS population workbooks: real totals, and every way a workbook can be wrong."""

import openpyxl
import pytest

from sources import ons_population as pop
from sources.catalogue import catalogue, snapshot_file
from sources.inputs import InputFile, SourceFormatError
from warehouse.engine.contracts import ContractViolation, validate
from warehouse.engine.registry import REGISTRY


def _real(source_id):
    return InputFile(source_id, snapshot_file(source_id), catalogue()[source_id].sha256)


@pytest.fixture(scope="module")
def mid2021():
    return pop.parse_release(_real("ons_mye2021"))


@pytest.fixture(scope="module")
def mid2023():
    return pop.parse_release(_real("ons_mye2023"))


def test_english_lads_sum_to_published_england_totals(mid2021, mid2023):
    assert pop.england_lad_total(mid2021, 2021) == 56_536_419
    assert pop.england_lad_total(mid2023, 2023) == 57_690_323


def test_release_shapes(mid2021, mid2023):
    lads21 = mid2021[mid2021["area_code"].str.match(r"^E0[6-9]") & (mid2021["year"] == 2021)]["area_code"].nunique()
    lads23 = mid2023[mid2023["area_code"].str.match(r"^E0[6-9]") & (mid2023["year"] == 2023)]["area_code"].nunique()
    assert (lads21, lads23) == (309, 296)
    ages = set(mid2023["age"])
    assert {"all", "0", "89", "90+"} <= ages and len(ages) == 92
    assert set(mid2023.loc[mid2023["year"] < 2023, "age"]) == {"all"}  # MYE4 series: totals only
    assert sorted(mid2023["year"].unique()) == list(range(2011, 2024))


def test_rows_carry_provenance(mid2023):
    row = mid2023[(mid2023["area_code"] == "E92000001") & (mid2023["year"] == 2023) & (mid2023["sex"] == "persons") & (mid2023["age"] == "all")].iloc[0]
    assert row["source_locator"] == "MYE2 - Persons row 10"
    assert row["source_sha256"] == catalogue()["ons_mye2023"].sha256


def test_real_release_passes_its_contract(mid2023):
    validated = validate(REGISTRY["core_population__estimates_by_release"], mid2023)
    assert len(validated) == len(mid2023)


# --- broken workbooks -----------------------------------------------------------------------

HEADER = ["Code", "Name", "Geography", "All ages", *pop.AGE_COLUMNS]


def _workbook(tmp_path, *, sheets=("MYE2 - Persons", "MYE2 - Females", "MYE2 - Males", "MYE4"), header=HEADER,
              header_row=8, value=100):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in sheets:
        ws = wb.create_sheet(name)
        ws.cell(1, 1, f"{name}: notes above the table")
        cols = header if name != "MYE4" else ["Code", "Name", "Geography", "Mid-2021", "Mid-2011"]
        for j, h in enumerate(cols, start=1):
            ws.cell(header_row, j, h)
        for i, code in enumerate(["E06000001", "E06000002"], start=header_row + 1):
            ws.cell(i, 1, code)
            ws.cell(i, 2, "Somewhere")
            ws.cell(i, 3, "Unitary Authority")
            for j in range(4, len(cols) + 1):
                ws.cell(i, j, value if (i, j) == (header_row + 1, 4) else 10)
    path = tmp_path / "mye.xlsx"
    wb.save(path)
    return InputFile("ons_mye2021", path, "a" * 64)


def test_a_header_row_that_moved_is_still_found(tmp_path):
    frame = pop.parse_release(_workbook(tmp_path, header_row=12))
    assert set(frame["area_code"]) == {"E06000001", "E06000002"}


def test_missing_sheet_is_named(tmp_path):
    with pytest.raises(SourceFormatError, match=r"sheet 'MYE2 - Females' not found"):
        pop.parse_release(_workbook(tmp_path, sheets=("MYE2 - Persons", "MYE2 - Males", "MYE4")))


def test_renamed_column_is_named(tmp_path):
    header = ["Code", "Name", "Geography", "All Persons", *pop.AGE_COLUMNS]
    with pytest.raises(SourceFormatError, match=r"column\(s\) \['All ages'\] not found"):
        pop.parse_release(_workbook(tmp_path, header=header))


def test_no_header_row_is_explained(tmp_path):
    header = ["Area code", "Name", "Geography", "All ages", *pop.AGE_COLUMNS]
    with pytest.raises(SourceFormatError, match="no header row starting with 'Code'"):
        pop.parse_release(_workbook(tmp_path, header=header))


@pytest.mark.parametrize("bad, check", [(-5, "greater_than_or_equal_to"), ("n/a", "coerce_dtype")])
def test_bad_population_values_fail_the_contract_with_value_and_file(tmp_path, bad, check):
    f = _workbook(tmp_path, value=bad)
    frame = pop.parse_release(f)
    with pytest.raises(ContractViolation) as err:
        validate(REGISTRY["core_population__estimates_by_release"], frame, [f.label])
    message = str(err.value)
    assert "core_population__estimates_by_release" in message
    assert "'population'" in message and check in message and repr(bad) in message
    assert "mye.xlsx" in message and "nothing was loaded" in message
