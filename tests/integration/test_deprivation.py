"""English Indices of Deprivation: File 10 and the tidy CSVs, broken files, and the landed indicators."""

import openpyxl
import pytest

from sources import deprivation as iod
from sources.catalogue import catalogue, snapshot_file
from sources.inputs import InputFile, SourceFormatError
from warehouse.engine.contracts import validate
from warehouse.engine.registry import REGISTRY
from warehouse.transforms import deprivation


def _real(source_id):
    return InputFile(source_id, snapshot_file(source_id), catalogue()[source_id].sha256)


@pytest.fixture(scope="module")
def file10():
    return iod.parse_file10(_real("mhclg_iod2019_file10"))


def test_file10_has_every_lad_and_domain(file10):
    assert file10.groupby("domain")["lad_code"].nunique().to_dict() == {d: 317 for d in iod.DOMAINS}
    hartlepool = file10[(file10["lad_code"] == "E06000001") & (file10["domain"] == "imd")].iloc[0]
    assert (hartlepool["average_score"], hartlepool["rank_of_average_score"], hartlepool["proportion_most_deprived_10pct"]) == (35.037, 10, 0.3621)
    assert hartlepool["geography_vintage"] == "2019" and hartlepool["source_locator"] == "IMD row 2"
    assert len(validate(REGISTRY["core_deprivation__lad_summaries"], file10)) == len(file10)


def test_file10_and_the_tidy_csv_agree_value_for_value(file10):
    tidy = iod.parse_tidy(_real("mhclg_iod2019_lad_tidy"))
    assert len(tidy) == 3170 and deprivation.disagreements(file10, tidy).empty


def test_iod2025_is_on_2024_boundaries():
    frame = iod.parse_tidy(_real("mhclg_iod2025_lad_tidy"))
    assert set(frame["edition"]) == {"2025"} and set(frame["geography_vintage"]) == {"2024"}
    assert frame.groupby("domain")["lad_code"].nunique().eq(296).all()


def test_implied_population_is_mhclgs_denominator(file10):
    implied = iod.implied_population(file10)
    assert len(implied) == 317
    assert implied.sum() == pytest.approx(54.8e6, rel=0.01)  # England, mid-2015 (IoD2019 denominators)


def _file10_copy(tmp_path, *, header_row=1, rename=None):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for domain, (sheet, _) in iod.DOMAINS.items():
        ws = wb.create_sheet(sheet)
        label = {"imd": "IMD"}.get(domain, sheet)
        headers = ["Local Authority District code (2019)", "Local Authority District name (2019)", f"{label} - Average rank ",
                   f"{label} - Rank of average rank ", f"{label} - Average score ", f"{label} - Rank of average score ",
                   f"{label} - Proportion of LSOAs in most deprived 10% nationally ",
                   f"{label} - Rank of proportion of LSOAs in most deprived 10% nationally "]
        if rename and sheet == "IMD":
            headers = [rename[1] if h == rename[0] else h for h in headers]
        if header_row > 1:
            ws.cell(1, 1, "English Indices of Deprivation 2019")
        for j, h in enumerate(headers, start=1):
            ws.cell(header_row, j, h)
        for j, v in enumerate(["E06000001", "Hartlepool", 22581.98, 25, 35.037, 10, 0.3621, 10], start=1):
            ws.cell(header_row + 1, j, v)
    path = tmp_path / "file10.xlsx"
    wb.save(path)
    return InputFile("mhclg_iod2019_file10", path, "b" * 64)


def test_a_moved_header_is_found(tmp_path):
    frame = iod.parse_file10(_file10_copy(tmp_path, header_row=4))
    assert len(frame) == 10 and frame["source_locator"].iloc[0] == "IMD row 5"


def test_a_renamed_column_fails_clearly(tmp_path):
    with pytest.raises(SourceFormatError, match=r"sheet 'IMD': column\(s\) for \['average_score'\] not found"):
        iod.parse_file10(_file10_copy(tmp_path, rename=("IMD - Average score ", "IMD - Mean score")))


def test_an_unknown_domain_in_a_tidy_file_fails(tmp_path):
    text = snapshot_file("mhclg_iod2025_lad_tidy").read_text().replace("Living Environment Deprivation", "Air Quality", 1)
    path = tmp_path / "iod.csv"
    path.write_text(text)
    with pytest.raises(SourceFormatError, match=r"unknown domain\(s\) \['Air Quality'\]"):
        iod.parse_tidy(InputFile("mhclg_iod2025_lad_tidy", path, "c" * 64))


# --- landed (built warehouse) ---------------------------------------------------------------------------

def test_deprivation_indicators_for_lads_regions_and_groups(query):
    values = query("""SELECT indicator_id, area_code, value, method, geography_vintage FROM core_indicators__values
                      WHERE indicator_id LIKE 'imd20%'""")
    lads = values[values["area_code"].str.match(r"^E0[6-9]")]
    assert lads.groupby("indicator_id")["area_code"].nunique().to_dict() == {
        "imd2019_average_score": 317, "imd2019_rank_of_average_score": 317, "imd2019_proportion_lsoas_most_deprived_10pct": 317,
        "imd2025_average_score": 296, "imd2025_rank_of_average_score": 296, "imd2025_proportion_lsoas_most_deprived_10pct": 296}
    assert set(lads["method"]) == {"published"}
    regions = values[values["area_code"].str.startswith("E12") & (values["indicator_id"] == "imd2025_average_score")]
    assert len(regions) == 9 and set(regions["method"]) == {"population_weighted_estimate"}
    england = values[(values["area_code"] == "E92000001") & values["indicator_id"].str.endswith("proportion_lsoas_most_deprived_10pct")]
    assert england["value"].between(0.095, 0.105).all() and len(england) == 2  # a tenth of LSOAs, by definition
    ranks = values[values["indicator_id"].str.contains("rank")]
    assert ranks["area_code"].str.match(r"^E0[6-9]").all()  # ranks are published for LADs only, never estimated


def test_gaps_mart_shows_deprivation(query):
    gaps = query("SELECT indicator_id, north_value, gse_value, north_position, notes FROM mart_north_south__gaps WHERE domain = 'deprivation'")
    assert set(gaps["indicator_id"]) == {"imd2019_average_score", "imd2019_proportion_lsoas_most_deprived_10pct",
                                         "imd2025_average_score", "imd2025_proportion_lsoas_most_deprived_10pct"}
    assert (gaps["north_value"] > gaps["gse_value"]).all() and set(gaps["north_position"]) == {"worse"}
    assert gaps["notes"].str.contains("population-weighted").all()
