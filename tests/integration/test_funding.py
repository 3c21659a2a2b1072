"""Research funding per head: published NHSA totals reproduced, award-level aggregation, the gaps projection, a live run."""

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest

from sources import research_funding
from sources.catalogue import catalogue, snapshot_file
from sources.inputs import InputFile, SourceFormatError
from tests.support.http_server import RecordedServer
from warehouse.transforms import funding

# The NHSA's direct-award table (combined authorities as from May 2024; London as its region).
NHSA = {
    "E47000001": (120_730_180, 42.10),   # Greater Manchester
    "E12000007": (900_808_268, 102.37),  # London
    "E47000008": (302_210_841, 337.85),  # Cambridgeshire and Peterborough
    "E47000006": (7_680_980, 11.34),     # Tees Valley
}


def _published():
    return research_funding.parse_published_totals(
        InputFile("observatory_nhsa_published_funding", snapshot_file("observatory_nhsa_published_funding"),
                  catalogue()["observatory_nhsa_published_funding"].sha256))


def test_published_totals_file_carries_quotes_and_document_lines():
    frame = _published()
    assert len(frame) == 13
    direct = frame[frame["funding_type"] == "direct_award"].set_index("area_code")
    for area, (total, per_head) in NHSA.items():
        assert (direct.loc[area, "total_gbp"], direct.loc[area, "published_per_head_gbp"]) == (total, per_head)
        assert f"{total:,}" in direct.loc[area, "quote"]
    assert set(frame["membership_date"].astype(str)) == {"2024-05-07", "2018-06-30"}
    assert frame["document_sha256"].str.fullmatch(r"[0-9a-f]{64}").all() and frame["document_lines"].notna().all()
    gse_2018 = frame[(frame["area_code"] == "greater_south_east") & (frame["year"] == 2018)].iloc[0]
    assert gse_2018["comparator_note"].startswith("NOT the Greater South East")


def test_published_totals_with_a_negative_amount_are_refused(tmp_path):
    text = snapshot_file("observatory_nhsa_published_funding").read_text().replace("120730180", "-120730180", 1)
    path = tmp_path / "totals.csv"
    path.write_text(text)
    with pytest.raises(SourceFormatError, match=r"line\(s\) \[2\] have a negative amount"):
        research_funding.parse_published_totals(InputFile("observatory_nhsa_published_funding", path, "d" * 64))


# --- the published per-head figures, reproduced (built warehouse) -----------------------------------------------

@pytest.mark.parametrize("area", sorted(NHSA))
def test_per_head_mart_reproduces_the_nhsa_figures_within_one_percent(query, area):
    total, published = NHSA[area]
    row = query("""SELECT * FROM mart_funding__per_head WHERE area_code = ? AND year = 2022 AND funding_type = 'direct_award'
                   AND basis = 'published_total'""", [area]).iloc[0]
    assert row["total_gbp"] == total and row["population_year"] == 2021
    assert str(row["membership_date"])[:10] == "2024-05-07"
    assert row["per_head_gbp"] == pytest.approx(total / row["population"])
    assert abs(row["per_head_gbp"] - published) / published < 0.01
    assert row["published_per_head_gbp"] == published and abs(row["difference_pct"]) < 1
    assert "line(s) " in row["basis_detail"] and row["basis_detail"].startswith("published total: Northern Health Science Alliance")


def test_per_head_population_is_the_mid_2021_footprint_of_may_2024(query):
    tees = query("""SELECT population, member_lads FROM mart_funding__per_head WHERE area_code = 'E47000006' AND funding_type = 'direct_award'""")
    assert (int(tees.iloc[0, 0]), int(tees.iloc[0, 1])) == (678_173, 5)
    london = query("SELECT population FROM mart_funding__per_head WHERE area_code = 'E12000007' AND funding_type = 'direct_award'")
    published = query("SELECT population FROM core_population__estimates WHERE area_code = 'E12000007' AND year = 2021 AND sex = 'persons' AND age = 'all'")
    assert int(london.iloc[0, 0]) == int(published.iloc[0, 0])


def test_funding_per_head_lands_as_indicators(query):
    values = query("SELECT * FROM core_indicators__values WHERE indicator_id LIKE 'health_research%'")
    gm = values[(values["indicator_id"] == "health_research_direct_award_per_head_gbp") & (values["area_code"] == "E47000001")].iloc[0]
    assert gm["value"] == 42.10 and gm["method"] == "published" and gm["count"] == 120_730_180
    assert "recomputed 42.09" in gm["value_note"]
    infra = values[(values["indicator_id"] == "health_research_infrastructure_per_head_gbp") & (values["area_code"] == "E12000007")].iloc[0]
    assert infra["method"] == "derived" and infra["value"] == pytest.approx(302_925_217 / infra["denominator"])
    definitions = query("SELECT * FROM core_indicators__definitions WHERE domain = 'funding'")
    assert set(definitions["indicator_id"]) == set(funding.PUBLISHED_INDICATOR.values())


def test_gaps_mart_projects_when_the_funding_gap_closes(query):
    gaps = query("""SELECT * FROM mart_north_south__gaps WHERE indicator_id = 'health_research_funding_per_head_gbp'
                    ORDER BY period_start""")
    assert list(gaps["period_label"]) == ["2018", "2022"]
    assert list(gaps["north_value"]) == [21, 25.72] and list(gaps["gse_value"]) == [62, 68.58]
    latest = gaps.iloc[-1]
    assert latest["absolute_gap"] == pytest.approx(25.72 - 68.58) and latest["gap_change"] == pytest.approx(-1.86)  # £ gap wider
    assert latest["gap_trend"] == "narrowing"  # but narrower relative to the Greater South East (-66% to -62.5%)
    # Compound growth of each side from 2018 to 2022 (period mid-points), until the North catches up.
    g_north, g_gse = (25.72 / 21) ** (1 / 4) - 1, (68.58 / 62) ** (1 / 4) - 1
    t1 = 2022 + 364 / 2 / 365.25
    expected = math.floor(t1 + math.log(68.58 / 25.72) / math.log((1 + g_north) / (1 + g_gse)))
    assert latest["projected_closing_year"] == expected == 2061
    assert pd.isna(latest["linear_closing_year"])  # the £ gap is widening, so it never closes linearly
    assert "compound" in latest["projection_method"] and "golden triangle" in latest["projection_method"]
    assert pd.isna(gaps.iloc[0]["projected_closing_year"])


# --- award level ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bridge(built_warehouse):
    con = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        tables = {name: con.execute(f"SELECT * FROM {name}").df() for name in ("core_geo__lad_footprints", "core_geo__area_membership", "core_geo__areas")}
        tables["population"] = con.execute("SELECT area_code, year, sex, age, population FROM core_population__estimates WHERE sex = 'persons' AND age = 'all'").df()
    finally:
        con.close()
    return tables


def _award(award_id, lad, amount, start, end, funding_type="direct_award", status="placed", basis="total_award", year=None):
    return {"award_id": award_id, "dataset": "gtr", "lad_code": lad, "amount_gbp": amount, "start_date": start, "end_date": end,
            "award_year": year or (start.year if start else None), "funding_type": funding_type, "status": status, "value_basis": basis,
            "source_id": "ukri_gtr", "source_sha256": "e" * 64}


def test_award_level_per_head_spreads_awards_over_their_years(bridge):
    awards = pd.DataFrame([
        _award("A", "E08000003", 730_000, dt.date(2021, 1, 1), dt.date(2022, 12, 31)),     # Manchester: half in each year
        _award("B", "E08000001", 100_000, dt.date(2021, 6, 1), dt.date(2021, 6, 30), "studentship"),  # Bolton
        _award("C", "E08000003", 999_999, dt.date(2021, 1, 1), dt.date(2021, 12, 31), status="unplaced"),  # not counted
        _award("D", "E06000002", 50_000, None, None, basis="annualised_spend", year=2021),  # Middlesbrough, UKHRA-style
    ])
    pops = funding.Populations(bridge["population"], bridge["core_geo__area_membership"])
    mart = funding.award_per_head(awards, bridge["core_geo__lad_footprints"], bridge["core_geo__areas"], pops, dt.date(2024, 6, 1))
    gm = mart[(mart["area_code"] == "E47000001") & (mart["year"] == 2021)].set_index("funding_type")
    assert gm.loc["direct_award", "total_gbp"] == pytest.approx(365_000) and gm.loc["studentship", "total_gbp"] == 100_000
    assert gm.loc["all", "total_gbp"] == pytest.approx(465_000) and gm.loc["all", "award_count"] == 2
    assert gm.loc["all", "population"] == 2_868_387 and gm.loc["all", "per_head_gbp"] == pytest.approx(465_000 / 2_868_387)
    assert set(gm["basis"]) == {"award_level"}
    north = mart[(mart["area_code"] == "north") & (mart["year"] == 2021) & (mart["funding_type"] == "all")].iloc[0]
    assert north["total_gbp"] == pytest.approx(515_000)
    assert mart[(mart["area_code"] == "E47000001") & (mart["year"] == 2022)].set_index("funding_type").loc["direct_award", "total_gbp"] == pytest.approx(365_000)


def test_gtr_copies_of_innovate_uk_projects_are_excluded_not_double_counted():
    gtr_rows = pd.DataFrame([_award("10001", "E08000003", 5, dt.date(2022, 1, 1), dt.date(2022, 2, 1))] ).assign(dataset="gtr", reason=None)
    iuk_rows = pd.DataFrame([_award("10001:01234567", "E08000003", 5, dt.date(2022, 1, 1), dt.date(2022, 2, 1))]).assign(dataset="innovate_uk", reason=None)
    combined = funding.combine_awards([gtr_rows, iuk_rows])
    assert list(combined["status"]) == ["excluded", "placed"]
    assert "duplicate of the Innovate UK" in combined.loc[0, "reason"]


# --- a live run of the funding job against the loopback server ------------------------------------------------

@pytest.mark.slow
def test_weekly_funding_job_places_live_awards_and_publishes(warehouse_copy, monkeypatch, tmp_path):
    from dagster import DagsterInstance

    from tests.integration.test_funding_sources import FIXTURES, _iuk_workbook, _json, _serve_gtr_v7, _serve_nihr

    iuk = _iuk_workbook(tmp_path)
    with RecordedServer() as server:
        _serve_gtr_v7(server)
        server.route("/gtr/api/projects?p=1&s=100", _json("gtr_v7_projects_p1.json"))
        server.route("/gtr/api/projects?p=2&s=100", _json("gtr_v7_projects_p2.json"))
        _serve_nihr(server, limit=100)
        env = {"OBSERVATORY_GTR_BASE_URL": server.url("/gtr/api"), "OBSERVATORY_NIHR_BASE_URL": server.url("/api/explore/v2.1"),
               "OBSERVATORY_INNOVATE_UK_FILE": str(iuk.path), "OBSERVATORY_POSTCODE_LOOKUP": str(FIXTURES / "nspl_sample.csv"),
               "OBSERVATORY_FUNDING_ANALYSIS_DATE": "2024-06-01", "OBSERVATORY_WAREHOUSE": str(warehouse_copy)}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        from pipelines.definitions import defs

        result = defs.resolve_job_def("funding_weekly_refresh").execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    failed = [(e.check_name, {k: str(v.value)[:500] for k, v in e.metadata.items()}) for e in result.get_asset_check_evaluations() if not e.passed]
    assert not failed, failed
    con = duckdb.connect(str(warehouse_copy), read_only=True)
    try:
        awards = con.execute("SELECT dataset, award_id, status, lad_code, reason FROM core_funding__awards ORDER BY 1, 2").df()
        mart = con.execute("SELECT * FROM mart_funding__per_head WHERE basis = 'award_level' AND area_code = 'E47000001' AND funding_type = 'all'").df()
        files = con.execute("SELECT source_id FROM core_provenance__files WHERE mode = 'live'").df()
        published = con.execute("SELECT count(*) FROM mart_funding__per_head WHERE basis = 'published_total'").fetchall()[0][0]
        indicators = con.execute("SELECT DISTINCT indicator_id FROM core_indicators__values WHERE indicator_id LIKE 'research_awards%'").df()
    finally:
        con.close()
    assert len(awards) == 9 and awards.groupby("status").size().to_dict() == {"excluded": 1, "placed": 5, "unplaced": 3}
    assert awards.loc[awards["status"] != "placed", "reason"].notna().all()
    assert set(files["source_id"]) == {"ukri_gtr", "nihr_open_data", "innovate_uk_projects", "ons_postcode_lookup"}
    assert set(mart["year"]) == {2020, 2021, 2022, 2023, 2024} and published == 10  # published totals still there
    assert "research_awards_per_head_gbp" in set(indicators["indicator_id"])
