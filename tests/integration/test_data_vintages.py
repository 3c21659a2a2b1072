"""Issue 10, data half: earlier Fingertips vintages, Census 2021 as a second population basis, four more PHOF
indicators, and aggregates with queryable coverage. Parsers on the real bundled files; the rest end to end
through the real Dagster job (the session's `built_warehouse`)."""

from __future__ import annotations

import pytest

from sources import fingertips as ft
from sources import ons_census
from sources.catalogue import sha256_of, snapshot_file
from sources.inputs import InputFile

NHSA = {  # published total (GBP) and per-head figure the NHSA printed, per footprint as from May 2024
    "E47000006": (7_680_980, 11.34),     # Tees Valley
    "E47000001": (120_730_180, 42.10),   # Greater Manchester
    "E12000007": (900_808_268, 102.37),  # London
}


def _bundled(source_id: str) -> InputFile:
    path = snapshot_file(source_id)
    return InputFile(source_id, path, sha256_of(path))


# --- parsers on the real files -------------------------------------------------------------------------------


@pytest.mark.parametrize("source_id, rows, sexes", [
    ("fingertips_90362_hle_2020_06", 2454, {"male", "female"}),
    ("fingertips_90362_hle_2024_07", 4308, {"male", "female"}),
    ("fingertips_93721_u75_preventable_2024_07", 11583, {"male", "female", "persons"}),
    ("fingertips_92443_smoking", 4587, {"persons"}),
    ("fingertips_93088_overweight", 3089, {"persons"}),
    ("fingertips_93015_inactive", 3089, {"persons"}),
    ("fingertips_92901_le_inequality", 4752, {"male", "female"}),
])
def test_every_new_fingertips_file_parses_every_row(source_id, rows, sexes):
    frame = ft.parse(_bundled(source_id))
    assert len(frame) == rows and set(frame["sex"]) == sexes
    assert frame["source_locator"].str.match(r"^line \d+$").all() and frame["period_start"].notna().all()


def test_the_2020_vintage_reads_the_sex_from_group_and_has_shire_counties():
    frame = ft.parse(_bundled("fingertips_90362_hle_2020_06"))
    england = frame[(frame["area_code"] == "E92000001") & (frame["period_label"] == "2015 - 17")]
    assert dict(zip(england["sex"], england["value"])) == {"male": 63.4, "female": 63.8}
    assert {"E10000017", "E10000023", "E47000001"} <= set(frame["area_code"])  # Lancashire, North Yorkshire, GM CA


def test_financial_year_periods_of_the_survey_indicators():
    frame = ft.parse(_bundled("fingertips_93088_overweight"))
    row = frame[frame["period_label"] == "2015/16"].iloc[0]
    assert (str(row["period_start"]), str(row["period_end"])) == ("2015-04-01", "2016-03-31")


def test_aggregation_follows_the_value_type_rule_not_the_indicator(tmp_path):
    cat = ft.catalogue()
    assert {i: cat.indicator(i).aggregation for i in ("92443", "93088", "93015", "92901", "93356", "90362")} == {
        "92443": "population_weighted", "93088": "population_weighted", "93015": "population_weighted",
        "92901": "none", "93356": "counts_and_denominators", "90362": "population_weighted"}
    text = ft.CATALOGUE_PATH.read_text(encoding="utf-8")
    own = tmp_path / "own.toml"
    own.write_text(text.replace('value_type = "slope index of inequality"\nage', 'value_type = "slope index of inequality"\naggregation = "population_weighted"\nage', 1))
    with pytest.raises(ValueError, match="follows from the \\[\\[aggregation_rule\\]\\]"):
        ft.catalogue.__wrapped__(own)
    own.write_text(text.replace('value_type = "slope index of inequality"\nage', 'value_type = "odds ratio"\nage', 1))
    with pytest.raises(ValueError, match="no \\[\\[aggregation_rule\\]\\]"):
        ft.catalogue.__wrapped__(own)


def test_census_p01_england_and_its_parts():
    frame = ons_census.parse_p01(_bundled("ons_census2021_p01"))
    england = frame[frame["area_code"] == "E92000001"].set_index("sex")["population"]
    assert england.to_dict() == {"persons": 56_489_800, "female": 28_833_500, "male": 27_656_300}
    lads = frame[frame["area_code"].str.match(r"^E0[6-9]") & (frame["sex"] == "persons")]
    assert len(lads) == 309 and lads["population"].sum() == 56_489_800
    assert frame["source_locator"].iloc[1] == "P01 row 9, column All persons"


# --- end to end through the real job ---------------------------------------------------------------------------


@pytest.mark.slow
def test_census_denominators_reproduce_the_nhsa_per_head_figures(query):
    for code, (total, per_head) in NHSA.items():
        row = query("""SELECT population, footprint_date, method FROM core_population__census2021
                       WHERE area_code = ? AND sex = 'persons' AND footprint_date = (
                         SELECT max(footprint_date) FROM core_population__census2021
                         WHERE area_code = ? AND footprint_date <= DATE '2024-05-07')""", [code, code]).iloc[0]
        assert round(total / row["population"], 2) == per_head, code
    england = query("SELECT population FROM core_population__census2021 WHERE area_code = 'E92000001' AND sex = 'persons'")
    assert england["population"].tolist() == [56_489_800]
    # the North East MCA (May 2024) has a row on its own footprint, none on census day
    nemca = query("SELECT footprint_date, member_count FROM core_population__census2021 WHERE area_code = 'E47000014' AND sex = 'persons'")
    assert str(nemca["footprint_date"].min())[:10] == "2024-05-07" and set(nemca["member_count"]) == {7}


@pytest.mark.slow
def test_earlier_vintages_show_as_revisions_and_as_of(query):
    as_2020 = query("""SELECT sex, value, source_id FROM indicator_values_as_of(TIMESTAMP '2021-01-01')
                       WHERE indicator_id = '90362' AND area_code = 'E92000001' AND period_label = '2015 - 17' ORDER BY sex""")
    assert as_2020["value"].tolist() == [63.8, 63.4] and set(as_2020["source_id"]) == {"fingertips_90362_hle_2020_06"}
    revision = query("""SELECT first_value, first_published_at, current_value FROM core_indicators__revisions
                        WHERE indicator_id = '90362' AND area_code = 'E92000001' AND sex = 'male' AND period_label = '2015 - 17'""").iloc[0]
    assert (revision["first_value"], str(revision["first_published_at"])[:10], revision["current_value"]) == (63.4, "2020-06-18", 63.3)
    mortality = query("""SELECT value FROM indicator_values_as_of(TIMESTAMP '2025-01-01')
                         WHERE indicator_id = '93721' AND area_code = 'E92000001' AND sex = 'persons' AND period_label = '2017'""")
    assert mortality["value"].tolist() == [141.6]
    current = query("""SELECT value FROM core_indicators__values WHERE indicator_id = '93721' AND area_code = 'E92000001'
                       AND sex = 'persons' AND period_label = '2017'""")
    assert current["value"].tolist() == [143.0]
    counts = query("SELECT count(*) AS n FROM core_indicators__revisions WHERE indicator_id IN ('90362', '93721')")["n"].iloc[0]
    assert counts > 100


@pytest.mark.slow
def test_the_north_has_hle_for_the_periods_the_2020_vintage_covers(query):
    north = query("""SELECT period_label, sex, value, member_count, member_codes FROM core_health__indicator_vintages
                     WHERE indicator_id = '90362' AND area_code = 'north' AND source_id = 'fingertips_90362_hle_2020_06'""")
    assert len(north) == 16 and north["value"].between(55, 70).all()  # 8 periods x 2 sexes
    assert north["member_codes"].str.contains("E10000017").all()  # Lancashire as a county, not its districts
    # the Greater South East too: Suffolk (a county whose footprint records only its 2019 districts) stands for the
    # districts it had before; City of London's suppressed value is a sliver left out and named
    gse = query("""SELECT value, source_locator FROM core_health__indicator_vintages
                   WHERE indicator_id = '90362' AND area_code = 'greater_south_east' AND source_id = 'fingertips_90362_hle_2020_06'""")
    assert len(gse) == 16 and gse["source_locator"].str.contains("E09000001").all()
    coverage = query("""SELECT has_figure, reason, missing_codes FROM core_indicators__aggregate_coverage
                        WHERE indicator_id = '90362' AND area_code = 'north' AND source_id = 'fingertips_90362_hle'""")
    assert len(coverage) > 0 and not coverage["has_figure"].any()
    assert coverage["reason"].str.contains("not covered by any area in the file").all()
    assert coverage["missing_codes"].str.contains("E07").all()  # the shire districts the current file lacks


@pytest.mark.slow
def test_coverage_explains_every_aggregate_area_and_matches_the_aggregates(query):
    gaps = query("""SELECT c.* FROM core_indicators__aggregate_coverage c
                    WHERE c.source_id IN (SELECT DISTINCT source_id FROM core_health__indicator_values)
                      AND c.method NOT IN ('published') AND c.has_figure
                      AND NOT EXISTS (SELECT 1 FROM core_health__indicator_aggregates a
                                      WHERE a.indicator_id = c.indicator_id AND a.area_code = c.area_code AND a.sex = c.sex
                                        AND a.age = c.age AND a.period_label = c.period_label)""")
    assert gaps.empty  # every figure the coverage claims is in the aggregates table
    unexplained = query("SELECT count(*) AS n FROM core_indicators__aggregate_coverage WHERE NOT has_figure AND reason IS NULL")["n"].iloc[0]
    assert unexplained == 0
    sii = query("SELECT DISTINCT reason FROM core_indicators__aggregate_coverage WHERE indicator_id = '92901' AND NOT has_figure")
    assert sii["reason"].str.contains("never aggregated").all()
    new = query("""SELECT indicator_id, count(*) AS n FROM core_health__indicator_aggregates
                   WHERE indicator_id IN ('92443', '93088', '93015') AND area_code IN ('north', 'greater_south_east') GROUP BY 1""")
    assert set(new["indicator_id"]) == {"92443", "93088", "93015"}


@pytest.mark.slow
def test_a_wrong_value_in_and_back_out_through_the_real_job(warehouse_copy, scratch_snapshot):
    """Issue 14 item 2 end to end: an edited bundled file brings a (plausible) wrong value; restoring the file brings the
    right one back as a new version; every version names the file that produced it."""
    import duckdb

    from sources import catalogue as cat
    from tests.conftest import run_refresh
    from warehouse.engine.paths import warehouse_paths

    path = scratch_snapshot.file("fingertips_90366_le")
    original = path.read_bytes()

    def use(content: bytes) -> str:
        path.write_bytes(content)
        return scratch_snapshot.rehash("fingertips_90366_le")

    lines = original.decode("utf-8").splitlines(keepends=True)
    header, cells = lines[0].rstrip("\r\n").split(","), lines[1].rstrip("\r\n").split(",")
    key = (cells[header.index("area_code")], cells[header.index("inequality")].lower(), cells[header.index("period")])
    right = float(cells[header.index("value")])
    cells[header.index("value")] = str(right + 5)
    edited = (lines[0] + ",".join(cells) + "\n" + "".join(lines[2:])).encode("utf-8")
    try:
        bad_sha = use(edited)
        assert run_refresh(warehouse_copy).success
        good_sha = use(original)
        assert run_refresh(warehouse_copy).success
    finally:
        cat.catalogue.cache_clear()
    con = duckdb.connect(str(warehouse_paths(warehouse_copy).published), read_only=True)
    try:
        versions = con.execute("""SELECT value, change, source_sha256 FROM core_indicators__value_history
                                  WHERE indicator_id = '90366' AND area_code = ? AND sex = ? AND period_label = ? ORDER BY version""",
                               list(key)).fetchall()
        now = con.execute("""SELECT value, source_sha256 FROM indicator_values_as_of(now()::TIMESTAMP)
                             WHERE indicator_id = '90366' AND area_code = ? AND sex = ? AND period_label = ?""", list(key)).fetchall()
        credited = con.execute("""SELECT count(*) FROM indicator_values_as_of(now()::TIMESTAMP)
                                  WHERE source_id = 'fingertips_90366_le' AND source_sha256 <> ?""", [good_sha]).fetchone()[0]
    finally:
        con.close()
    assert versions == [(right, "new", good_sha), (right + 5, "revised", bad_sha), (right, "revised", good_sha)]
    assert now == [(right, good_sha)] and credited == 0  # every current LE value is credited to the restored file


def test_an_earlier_vintage_built_in_a_helper_is_the_one_built_here(built_warehouse):
    """`build_health` builds the earlier vintages with the ``beside`` it is given (the refresh gives
    `pipelines.offload.beside`: a helper process): the tables are the same as when built in this process."""
    import duckdb
    import pandas as pd

    from pipelines import offload
    from warehouse.engine.queries import fetch_frame
    from warehouse.transforms import health

    con = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        tables = {name: fetch_frame(con, f"SELECT * FROM {name}") for name in ("core_geo__areas_all", "core_geo__lad_footprints", "core_geo__area_membership")}
        population = fetch_frame(con, "SELECT area_code, year, sex, age, population FROM core_population__estimates WHERE sex = 'persons' AND age = 'all'")
    finally:
        con.close()
    current, earlier = (ft.parse(_bundled(s)) for s in ("fingertips_90362_hle_2024_07", "fingertips_90362_hle_2020_06"))
    common = dict(cat=ft.catalogue(), areas=tables["core_geo__areas_all"], footprints=tables["core_geo__lad_footprints"],
                  membership=tables["core_geo__area_membership"], population=population, credits={},
                  vintages=[(earlier, "2020-06-02", "HLE as published in June 2020")])
    here = health.build_health([current], **common)
    try:
        beside = health.build_health([current], **common, beside=offload.beside)
        assert offload.helper_pids() or offload.helpers() == 0, "a helper process built the vintage"
    finally:
        offload.close()
    assert len(here["core_health__indicator_vintages"]) > 1000
    for name, frame in here.items():
        pd.testing.assert_frame_equal(beside[name], frame, check_exact=True, obj=name)
