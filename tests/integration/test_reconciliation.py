"""Claims reconciliation: one test per verdict on real seed sentences and on sentences the extractor never saw,
read by the real extractor into a real DuckDB whose tables are made and validated through the registry; and the
done-when checks of issue 10 after a full build and ingest of the five seeds (slow)."""

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sources.reports.claims import PlaceMatcher, extract_claims
from sources.reports.frames import claims_frame
from sources.reports.text_tables import lines_of
from warehouse.engine import loader
from warehouse.engine.contracts import validate
from warehouse.engine.registry import REGISTRY
from warehouse.transforms.reconciliation import document_data_year, fingertips_period, printed_tolerance, reconcile, within

SEEDS = Path(__file__).parents[1] / "fixtures" / "reports" / "seeds"
AREAS = [
    ("E47000006", "Tees Valley Combined Authority", "combined_authority"),
    ("E47000001", "Greater Manchester Combined Authority", "combined_authority"),
    ("E12000003", "Yorkshire and The Humber", "region"),
    ("E12000007", "London", "region"),
    ("E92000001", "England", "country"),
    ("north", "The North", "group"),
    ("greater_south_east", "Greater South East", "group"),
    ("E08000032", "Bradford", "lad"),
    ("E08000016", "Barnsley", "lad"),
    ("E08000012", "Liverpool", "lad"),
    ("E08000003", "Manchester", "lad"),
    ("E06000010", "Kingston upon Hull, City of", "lad"),
    *[(f"E0800{n}", name, "lad") for n, name in (("0033", "Calderdale"), ("0017", "Doncaster"), ("0034", "Kirklees"), ("0035", "Leeds"),
                                                 ("0018", "Rotherham"), ("0019", "Sheffield"), ("0036", "Wakefield"))],
    *[(f"E0600{n}", name, "lad") for n, name in (("0011", "East Riding of Yorkshire"), ("0012", "North East Lincolnshire"),
                                                 ("0013", "North Lincolnshire"), ("0065", "North Yorkshire"), ("0014", "York"))],
]


def _seed_lines(name: str, numbers: set[int]) -> list[tuple[int, int, str]]:
    (path,) = SEEDS.glob(f"{name}_*.txt")
    return [(p, ln, t) for p, ln, t in lines_of(path.read_text(encoding="utf-8")) if ln in numbers]


def _document(lines: list[tuple[int, int, str]]) -> pd.DataFrame:
    places = PlaceMatcher(AREAS)
    doc = hashlib.sha256("\n".join(t for _, _, t in lines).encode()).hexdigest()
    return claims_frame(doc, extract_claims(lines, places), "text")


def _hle(area, sex, value, sha, **extra):
    row = {"indicator_id": "90362", "area_code": area, "sex": sex, "age": "all", "period_label": "2015 - 17",
           "period_start": pd.Timestamp("2015-01-01"), "period_end": pd.Timestamp("2017-12-31"), "value": value, "lower_ci_95": None,
           "upper_ci_95": None, "count": None, "denominator": None, "value_note": None, "compared_to_england": None,
           "geography_vintage": "2023", "method": "published", "source_id": "fingertips_90362_hle", "source_sha256": sha,
           "source_locator": "line 2"}
    return row | extra


@pytest.fixture()
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    documents = [
        # seed 000: the NHSA per-head figures (Tees Valley) and the "two and a half times" ratio
        _document(_seed_lines("000", {24, 26, 38})),
        # seed 002: Figure 1 (England, men and women), "5.4 million residents", GVA per head, the golden triangle
        _document([(ln, ln, t if (480 <= ln <= 655 or 891 <= ln <= 909 or 942 <= ln <= 948 or 1064 <= ln <= 1066) else "")
                   for _, ln, t in lines_of((next(SEEDS.glob("002_*.txt"))).read_text(encoding="utf-8"))]),
        # sentences the extractor never saw
        _document([(1, 1, "Barnsley had 247,000 residents in 2019. Bradford received £6.22 per person in research funding in 2022, "
                          "from a total of £3,400,000."),
                   (2, 2, "Men in Barnsley could expect 59.7 years of healthy life in 2015-2017, against 63.4 years in England.")]),
    ]
    claims = pd.concat(documents, ignore_index=True)
    loader.replace_table(c, REGISTRY["core_reports__claims"], claims)
    c.execute("CREATE VIEW core_geo__areas_all AS SELECT * FROM (VALUES " + ", ".join(f"('{a}', '{n}')" for a, n, _ in AREAS)
              + ") t(area_code, area_name)")
    c.execute("""CREATE TABLE mart_funding__per_head AS SELECT * FROM (VALUES
        ('E47000006', 2022, 'direct_award', 7680980.0, 678173, 2021, DATE '2024-05-07', 7680980.0 / 678173, 'published_total'),
        ('north', 2022, 'all', 405000000.0, 15736000, 2022, DATE '2024-05-07', 405000000.0 / 15736000, 'published_total'),
        ('E08000032', 2022, 'direct_award', 3400000.0, 546412, 2021, DATE '2024-05-07', 3400000.0 / 546412, 'published_total'))
        t(area_code, year, funding_type, total_gbp, population, population_year, membership_date, per_head_gbp, basis)""")
    c.execute("""CREATE TABLE core_population__census2021 AS SELECT * FROM (VALUES
        ('E47000006', 'persons', 'all', 677100, DATE '2024-05-07'), ('north', 'persons', 'all', 15545100, DATE '2024-05-07'),
        ('E08000032', 'persons', 'all', 546400, DATE '2021-03-21'), ('E12000003', 'persons', 'all', 5480800, DATE '2021-03-21'))
        t(area_code, sex, age, population, footprint_date)""")
    c.execute("""CREATE TABLE core_population__estimates AS SELECT * FROM (VALUES
        ('E12000003', 2017, 'persons', 'all', 5427784), ('E08000016', 2019, 'persons', 'all', 246866))
        t(area_code, year, sex, age, population)""")
    current = "c" * 64
    values = [_hle("E92000001", "male", 63.1, current), _hle("E92000001", "female", 63.9, current),
              _hle("E08000016", "male", 59.1, current), _hle("E08000016", "female", 59.2, current)]
    gva = [dict(_hle(area, "persons", v, current), indicator_id="gva_per_head_gbp", period_label="2017", method="derived",
                source_id="ons_regional_accounts") for area, v in (("E12000003", 22057.64), ("K02000001", 28168.98))]
    loader.replace_table(c, REGISTRY["core_indicators__values"], pd.DataFrame(values + gva))
    c.execute("""CREATE TABLE core_health__indicator_vintages AS SELECT * FROM (VALUES
        ('90362', 'E92000001', 'male', '2015 - 17', 63.4, DATE '2020-06-18', 'Fingertips 90362 as published 2020-06-18 (County & UA)'),
        ('90362', 'E92000001', 'female', '2015 - 17', 63.8, DATE '2020-06-18', 'Fingertips 90362 as published 2020-06-18 (County & UA)'))
        t(indicator_id, area_code, sex, period_label, value, published_at, vintage_label)""")
    yield c
    c.close()


def _verdicts(con) -> pd.DataFrame:
    result = reconcile(con)
    validate(REGISTRY["mart_reconciliation__claims"], result)  # raises ContractViolation if the mart breaks its contract
    return result


def _row(result: pd.DataFrame, figure: str, line: int | None = None) -> pd.Series:
    rows = result[(result["figure"] == figure) & ((result["line"] == line) if line else True)]
    assert len(rows), f"no verdict for {figure!r}"
    return rows.iloc[0]


def test_reproduced_seed_and_unseen(con):
    result = _verdicts(con)
    residents = _row(result, "5.4 million")
    assert residents["status"] == "reproduced" and residents["area_code"] == "E12000003" and residents["period"] == "2017"
    assert "latest available data" in residents["reason"] and "Census 2021" in residents["reason"]
    barnsley = _row(result, "247,000")
    assert barnsley["status"] == "reproduced" and barnsley["warehouse_value"] == 246866


def test_consistent_seed_and_unseen(con):
    result = _verdicts(con)
    tees = _row(result, "£11.34", 38)
    assert tees["status"] == "consistent" and tees["warehouse_value"] == pytest.approx(7680980 / 677100)
    assert "Census 2021" in tees["basis"] and "mid-2021 estimate (678,173)" in tees["reason"] and "No primary data" in tees["reason"]
    ratio = _row(result, "two and a half times more")
    assert ratio["status"] == "consistent" and ratio["warehouse_value"] == pytest.approx(68.58 / 25.72)
    bradford = _row(result, "£6.22")
    assert bradford["status"] == "consistent" and bradford["area_code"] == "E08000032"
    assert not (result["measure"].eq("research funding per head") & result["status"].eq("reproduced")).any()


def test_revised_seed_and_unseen(con):
    result = _verdicts(con)
    england = result[(result["area_code"] == "E92000001") & (result["claim_kind"] == "level") & (result["line"] > 500)]
    assert set(england["status"]) == {"revised"} and len(england) == 2
    male = england[england["sex"] == "male"].iloc[0]
    assert male["earlier_value"] == 63.4 and male["warehouse_value"] == 63.1 and "2020-06-18" in male["earlier_vintage"]
    unseen = result[(result["line"] == 2) & (result["figure"] == "63.4 years")].iloc[0]
    assert unseen["status"] == "revised" and unseen["sex"] == "male"


def test_mismatch_seed_and_unseen(con):
    result = _verdicts(con)
    gva = _row(result, "£21,426", 908)
    assert gva["status"] == "mismatch" and gva["difference"] == pytest.approx(22057.64 - 21426) and gva["period"] == "2017"
    north = _row(result, "£25.72")
    assert north["status"] == "mismatch" and "26.05" in north["reason"] and "25.74" in north["reason"]  # Census vs mid-2022, both shown
    barnsley = _row(result, "59.7 years")
    assert barnsley["status"] == "mismatch" and barnsley["sex"] == "male" and barnsley["difference"] == pytest.approx(-0.6)


def test_unverifiable_says_what_would_settle_it(con):
    result = _verdicts(con)
    triangle = _row(result, "£62")
    assert triangle["status"] == "unverifiable" and "golden triangle" in triangle["place_name"] and "not the Greater South East" in triangle["reason"]
    total = _row(result, "£7,680,980")
    assert total["status"] == "unverifiable" and "award-level" in total["reason"] and "circular" in total["reason"]
    unseen_total = _row(result, "£3,400,000")
    assert unseen_total["status"] == "unverifiable"
    assert (result.loc[result["status"] == "unverifiable", "reason"].str.contains("Would settle it")).all()


def test_no_claims_gives_an_empty_mart(tmp_path):
    c = duckdb.connect(str(tmp_path / "empty.duckdb"))
    assert reconcile(c).empty
    c.close()


@pytest.mark.parametrize("figure, scale, expected", [("£42.10", 1, 0.005), ("61.7", 1, 0.05), ("£7,680,980", 1, 0.5),
                                                     ("£1.69bn", 1e9, 0.005e9), ("5.4 million", 1e6, 0.05e6), ("1 year 10 months", 1, 0.5 / 12)])
def test_tolerance_is_half_the_last_printed_digit(figure, scale, expected):
    assert printed_tolerance(figure, scale) == pytest.approx(expected)


def test_qualifiers_bound_one_way():
    assert within(5000, 5600, 0.5, "over") and not within(5000, 4990, 0.5, "over")
    assert within(0.5, 0.43, 0, "less than") and not within(0.5, 0.6, 0, "less than")
    assert within(42.10, 42.0971, 0.005, None) and not within(337.85, 337.51, 0.005, None)


@pytest.mark.parametrize("period, label", [("2015-2017", "2015 - 17"), ("2015-17", "2015 - 17"), ("2022", "2022"), (None, None), ("recently", None)])
def test_periods_become_fingertips_labels(period, label):
    assert fingertips_period(period) == label


def test_document_data_year_prefers_the_latest_available_data():
    claims = pd.DataFrame({"text": ["In 2017 (the latest available data), growth was 0.7 percent.", "x"], "context": ["", ""],
                           "period": ["2017", "2021"]})
    assert document_data_year(claims)[0] == 2017
    assert document_data_year(claims.assign(text=["no phrase", "x"]))[0] == 2021


# --- done when (issue 10): build the bundled snapshot, ingest the five seeds ---------------------------------

@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    import os

    from typer.testing import CliRunner

    from pipelines.cli import app
    from tests.conftest import run_refresh

    target = tmp_path_factory.mktemp("seeds") / "observatory.duckdb"
    assert run_refresh(target).success
    os.environ["OBSERVATORY_WAREHOUSE"] = str(target)
    result = CliRunner().invoke(app, ["ingest", *map(str, sorted(SEEDS.glob("*.txt")))])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(target), read_only=True)
    yield con
    con.close()


@pytest.mark.slow
def test_done_when_after_build_and_ingest_of_the_seeds(ingested):
    mart = ingested.execute("SELECT r.*, c.kind, c.series FROM mart_reconciliation__claims r JOIN core_reports__claims c USING (claim_id)").df()
    hle = mart[(mart["kind"] == "figure_value") & (mart["measure"] == "healthy life expectancy")]
    assert len(hle) == 34 and (hle["status"] == "revised").sum() >= 30, hle[["claim_text", "status", "reason"]].to_string()
    nhsa = mart[(mart["measure"] == "research funding per head") & mart["area_code"].isin(["E47000006", "E47000001", "E12000007"])]
    assert set(nhsa["status"]) == {"consistent"} and len(nhsa) >= 4
    assert ((nhsa["warehouse_value"] - nhsa["published_value"]).abs() <= nhsa["tolerance"] + 1e-9).all()
    manchester = mart[mart["figure"] == "£1.81"].iloc[0]  # "Manchester" (the district) read as its combined authority, with the reason
    assert manchester["status"] == "consistent" and manchester["area_code"] == "E47000001" and "'Manchester'" in manchester["reason"]
    cambridge = mart[mart["figure"] == "£4.16"].iloc[0]
    assert cambridge["area_code"] == "E47000008" and "'Cambridge'" in cambridge["reason"]
    funding = mart[mart["measure"].fillna("").str.contains("research funding")]
    assert not (funding["status"] == "reproduced").any()  # no award-level data in the bundled snapshot
    residents = mart[mart["figure"] == "5.4 million"]
    assert list(residents["status"]) == ["reproduced"]
    assert not mart["unit"].eq("year").any()  # no years as claims
    north = ingested.execute("""SELECT DISTINCT period_label FROM core_health__indicator_vintages
                                WHERE indicator_id = '90362' AND area_code = 'north'""").fetchall()
    june_2020 = ingested.execute("""SELECT DISTINCT period_label FROM core_health__indicator_vintages
                                    WHERE indicator_id = '90362' AND published_at < DATE '2021-01-01'""").fetchall()
    assert june_2020 and set(june_2020) <= set(north)
    table = ingested.execute(open(Path(__file__).parents[2] / "warehouse" / "outputs" / "sql" / "report_reconciliation.sql").read()).df()
    assert list(table.columns[:9]) == ["claim", "place", "measure", "period", "published", "warehouse_value", "unit", "status", "reason"]
    assert not table["published"].str.fullmatch(r"(19|20)\d\d").any() and not table["place"].str.fullmatch(r"[EWKS]\d{8}").any()


