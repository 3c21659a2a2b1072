"""The health tables end to end (the session's offline build), and the builder's rules on their own."""

import datetime as dt

import duckdb
import pandas as pd
import pytest

from sources import fingertips as ft
from warehouse.outputs.dictionary import render
from warehouse.transforms import health

HEALTH = ("90362", "90366", "93721", "40502", "93356", "92443", "93088", "93015", "92901")


# --- what the offline build lands --------------------------------------------------------------------------


def test_every_bundled_indicator_lands_with_its_row_count(query):
    counts = dict(query("""SELECT indicator_id, count(*) FROM core_health__indicator_values GROUP BY 1""").itertuples(index=False))
    assert counts == {"90362": 2128, "90366": 5516, "93721": 9801, "40502": 4920, "93356": 792,
                      "92443": 4587, "93088": 3089, "93015": 3089, "92901": 4752}
    assert query("SELECT count(*) FROM core_health__inequalities").iloc[0, 0] == 60
    union = query(f"SELECT count(*) FROM core_indicators__values WHERE indicator_id IN {HEALTH} AND method = 'published'")
    assert union.iloc[0, 0] == sum(counts.values())


def test_kingston_upon_hull_hle_by_sex_for_every_period_with_the_england_comparison(query):
    hull = query("""
        SELECT v.sex, v.period_label, v.period_start, v.period_end, v.value, b.comparator_value AS england, b.comparison, b.comparison_method
        FROM core_indicators__values v
        JOIN mart_indicators__benchmarks b USING (indicator_id, area_code, sex, age, period_label)
        WHERE v.indicator_id = '90362' AND v.area_code = 'E06000010' AND b.benchmark = 'england'
        ORDER BY v.sex, v.period_start""")
    assert len(hull) == 16 and set(hull["sex"]) == {"female", "male"}
    assert list(hull.loc[hull["sex"] == "male", "period_label"]) == [f"{y} - {str(y + 2)[2:]}" for y in range(2015, 2023)]
    male_latest = hull[(hull["sex"] == "male") & (hull["period_label"] == "2022 - 24")].iloc[0]
    assert (male_latest["value"], male_latest["england"]) == (53.1, 60.9)
    assert male_latest["period_start"].date() == dt.date(2022, 1, 1) and male_latest["period_end"].date() == dt.date(2024, 12, 31)
    assert set(hull["comparison"]) == {"worse"} and set(hull["comparison_method"]) == {"publisher"}


def test_england_appears_once_per_key(query):
    dupes = query("""SELECT indicator_id, sex, age, period_label, count(*) n FROM core_health__indicator_values
                     WHERE area_code = 'E92000001' GROUP BY ALL HAVING n > 1""")
    assert dupes.empty


def test_vintages_follow_the_code_sets(query):
    v = query("""SELECT indicator_id, period_label, geography_vintage, count(*) n FROM core_health__indicator_values
                 WHERE regexp_matches(area_code, '^E(0[6-9]|10)') GROUP BY ALL""")
    by = {(r.indicator_id, r.period_label, r.geography_vintage): r.n for r in v.itertuples()}
    assert by[("40502", "2015 - 17", "2018")] == 326 and by[("93356", "2017", "2018")] == 152
    assert by[("93721", "2024", "2023")] == 296 * 3 and by[("90362", "2022 - 24", "2023")] == 264
    # LE before 2020-22: the 2021 districts plus the four 2023 unitaries published beside them
    assert by[("90366", "2019 - 21", "2021")] == 309 * 2 and by[("90366", "2019 - 21", "2023")] == 4 * 2
    assert by[("90366", "2020 - 22", "2023")] == 296 * 2


def test_every_health_row_traces_to_a_recorded_file(query):
    for table in ["core_health__indicator_values", "core_health__indicator_aggregates", "core_health__indicator_definitions", "core_health__inequalities",
                  "core_health__indicator_vintages", "core_indicators__aggregate_coverage", "core_indicators__value_history"]:
        orphans = query(f"SELECT count(*) FROM {table} t LEFT JOIN core_provenance__files p ON p.sha256 = t.source_sha256 WHERE p.sha256 IS NULL")
        assert orphans.iloc[0, 0] == 0, table
    hull = query("SELECT source_id, source_locator FROM core_health__indicator_values WHERE indicator_id = '90362' AND area_code = 'E06000010' AND sex = 'male' AND period_label = '2015 - 17'")
    assert hull.iloc[0].tolist() == ["fingertips_90362_hle", "line 27"]


def test_definitions_and_the_dictionary_explain_each_indicator(query):
    defs = query("SELECT * FROM core_indicators__definitions WHERE domain = 'health' ORDER BY indicator_id").set_index("indicator_id")
    assert set(defs.index) == set(HEALTH)
    assert defs.loc["90362", "unit"] == "years" and defs.loc["90362", "polarity"] == "high_is_good"
    assert defs.loc["93721", "polarity"] == "low_is_good" and defs.loc["93356", "aggregation"] == "counts_and_denominators"
    assert (defs["licence"] == "OGL-UK-3.0").all() and defs["definition"].str.len().min() > 40
    text = render()
    section = text.split("## Health indicators (OHID Fingertips)", 1)[1]
    for indicator_id in ft.catalogue().indicators:
        assert f"`{indicator_id}`" in section


# --- aggregates ---------------------------------------------------------------------------------------------


def test_aggregates_are_labelled_and_never_replace_a_published_figure(query):
    methods = query("SELECT DISTINCT method FROM core_health__indicator_aggregates")["method"]
    assert set(methods) == {"population_weighted_estimate", "recomputed_from_counts"}
    clash = query("""SELECT count(*) FROM core_health__indicator_aggregates a JOIN core_health__indicator_values v
                     USING (indicator_id, area_code, sex, age, period_label)""")
    assert clash.iloc[0, 0] == 0
    # the publisher's own Greater Manchester figure for 40502 is used, not an estimate
    gm = query("SELECT method FROM core_indicators__values WHERE indicator_id = '40502' AND area_code = 'E47000001'")
    assert set(gm["method"]) == {"published"}
    estimates = query("SELECT source_locator, lower_ci_95 FROM core_health__indicator_aggregates WHERE method = 'population_weighted_estimate'")
    assert estimates["source_locator"].str.contains("an estimate, not a published figure").all() and estimates["lower_ci_95"].isna().all()


def test_population_weighted_estimate_is_weighted_not_averaged(query):
    row = query("""SELECT * FROM core_health__indicator_aggregates
                   WHERE indicator_id = '90366' AND area_code = 'E47000001' AND sex = 'male' AND period_label = '2021 - 23'""").iloc[0]
    members = row["member_codes"].split()
    assert len(members) == 10
    lads = query(f"""SELECT v.area_code, v.value, p.population FROM core_health__indicator_values v
                     JOIN core_population__estimates p ON p.area_code = v.area_code AND p.year = 2022 AND p.sex = 'persons' AND p.age = 'all'
                     WHERE v.indicator_id = '90366' AND v.sex = 'male' AND v.period_label = '2021 - 23'
                       AND v.area_code IN ({", ".join(f"'{m}'" for m in members)})""")
    weighted = (lads["value"] * lads["population"]).sum() / lads["population"].sum()
    assert row["value"] == pytest.approx(weighted) and row["value"] != pytest.approx(lads["value"].mean(), abs=1e-6)
    assert row["weight_years"] == "2022" and row["geography_vintage"] == "2023"


def test_counts_recompute_the_published_regions_exactly(query):
    """Recomputing each published region of 93356 from its counties and UAs gives the publisher's figure."""
    values = query("SELECT * FROM core_health__indicator_values WHERE indicator_id = '93356' AND age = 'all'")
    geo = health._Geography(query("SELECT * FROM core_geo__areas_all"), query("SELECT * FROM core_geo__lad_footprints"),
                            query("SELECT * FROM core_geo__area_membership"),
                            query("SELECT area_code, year, population FROM core_population__estimates WHERE sex = 'persons' AND age = 'all'"))
    ind = ft.catalogue().indicator("93356")
    checked = 0
    for period, group in values.groupby("period_label"):
        units = {c: (v, n, d) for c, v, n, d in zip(group["area_code"], group["value"], group["count"], group["denominator"])
                 if c[:3] in ("E06", "E07", "E08", "E09", "E10")}
        for region in ("E12000001", "E12000002", "E12000003"):
            got = health._aggregate(region, geo.lads_of(region, 2018), "sum_of_lads", units, ind, geo, 2018, int(period))
            published = group[group["area_code"] == region].iloc[0]
            assert (got["count"], got["denominator"]) == (published["count"], published["denominator"])
            assert got["value"] == pytest.approx(published["value"], rel=1e-11)  # stored to 12 significant digits
            checked += 1
    assert checked == 9


def test_byar_interval_matches_the_publishers(query):
    england = query("SELECT * FROM core_health__indicator_values WHERE indicator_id = '93356' AND area_code = 'E92000001' AND age = 'all' AND period_label = '2015'").iloc[0]
    lower, upper = health.byar_ci(england["count"], england["denominator"], 100_000)
    assert lower == pytest.approx(england["lower_ci_95"], abs=1e-6) and upper == pytest.approx(england["upper_ci_95"], abs=1e-6)


def test_combined_authority_from_counts_has_a_ci(query):
    gm = query("""SELECT * FROM core_health__indicator_aggregates WHERE indicator_id = '93356' AND area_code = 'E47000001'
                  AND age = 'all' AND period_label = '2015'""").iloc[0]
    assert gm["method"] == "recomputed_from_counts" and gm["member_count"] == 10
    assert gm["lower_ci_95"] < gm["value"] < gm["upper_ci_95"] and gm["count"] == 1959


# --- benchmarks and profile ----------------------------------------------------------------------------------


def test_ci_comparisons_agree_with_the_publisher_wherever_both_exist(query):
    agree = query("""SELECT benchmark, count(*) n, count(*) FILTER (WHERE agrees_with_publisher) ok FROM mart_indicators__benchmarks
                     WHERE comparison_method = 'ci95_overlap' AND agrees_with_publisher IS NOT NULL GROUP BY 1""").set_index("benchmark")
    assert agree.loc["england", "n"] > 700 and agree.loc["region", "n"] > 400
    assert (agree["n"] == agree["ok"]).all()


def test_benchmark_is_polarity_aware_and_records_its_method(query):
    b = query("""SELECT * FROM mart_indicators__benchmarks WHERE indicator_id = '93356' AND area_code = 'E06000001'
                 AND age = 'all' AND period_label = '2015'""").set_index("benchmark")
    # Hartlepool 142.7 (119.4-169.2) against England 94.7: CI wholly above, and low is good -> worse
    assert b.loc["england", "comparison"] == "worse" and b.loc["england", "comparison_method"] == "ci95_overlap"
    assert b.loc["region", "comparator_code"] == "E12000001" and b.loc["region", "comparison"] == "similar"
    assert b.loc["region", "publisher_comparison"] == "Similar" and bool(b.loc["region", "agrees_with_publisher"])
    methods = query("SELECT DISTINCT comparison_method, comparison FROM mart_indicators__benchmarks")
    assert set(methods["comparison_method"]) == {"ci95_overlap", "publisher", "not_compared"}
    unexplained = query("SELECT count(*) FROM mart_indicators__benchmarks WHERE comparison_method = 'not_compared' AND note IS NULL")
    assert unexplained.iloc[0, 0] == 0


def test_area_profile_for_hull(query):
    p = query("SELECT * FROM mart_area_profile WHERE area_code = 'E06000010' AND indicator_id = '90362'").set_index("sex")
    male = p.loc["male"]
    assert male["latest_period"] == "2022 - 24" and male["value"] == 53.1 and male["england_value"] == 60.9
    assert male["compared_to_england"] == "worse" and male["region_code"] == "E12000003"
    assert male["periods_available"] == 8 and male["first_period"] == "2015 - 17"
    assert male["trend"] == "decreasing" and male["trend_assessment"] == "getting_worse" and male["trend_periods"] == 5
    assert 1 <= male["lad_rank"] <= male["lad_rank_of"] <= 132 and male["lad_rank"] >= male["lad_rank_of"] - 5
    assert male["is_current_area"]


def test_area_profile_ranks_and_estimates(query):
    ranks = query("""SELECT lad_rank_of, count(*) n FROM mart_area_profile WHERE indicator_id = '93721' AND sex = 'persons'
                     AND regexp_matches(area_code, '^E0[6-9]') GROUP BY 1""")
    assert ranks["lad_rank_of"].max() <= 296
    best = query("""SELECT area_code, value FROM mart_area_profile WHERE indicator_id = '93721' AND sex = 'persons' AND lad_rank = 1""")
    worst = query("""SELECT max(value) FROM mart_area_profile WHERE indicator_id = '93721' AND sex = 'persons' AND regexp_matches(area_code, '^E0[6-9]')""")
    assert best["value"].iloc[0] < worst.iloc[0, 0]  # low is good: rank 1 is the lowest rate
    north = query("SELECT value_method, lad_rank FROM mart_area_profile WHERE area_code = 'north' AND indicator_id = '90366' AND sex = 'female'").iloc[0]
    assert north["value_method"] == "population_weighted_estimate" and pd.isna(north["lad_rank"])


# --- the checks' rules ------------------------------------------------------------------------------------------


def test_check_rules_flag_bad_rows(query):
    frame = pd.DataFrame({"value": [10.0, 10.0, 10.0, None], "lower_ci_95": [9.0, 11.0, None, 5.0], "upper_ci_95": [11.0, 12.0, 9.0, 4.0]})
    assert list(health.inverted_cis(frame).index) == [1, 2, 3]
    areas = query("SELECT * FROM core_geo__areas_all")
    rows = pd.DataFrame({"area_code": ["E06000058", "E06000058", "E07000048", "E06000999", "W06000001", "north"],
                         "geography_vintage": ["2023", "2018", "2018", "2023", "2023", "2023"]})
    bad = health.invalid_codes(rows, areas)
    assert list(bad["area_code"]) == ["E06000058", "E06000999", "W06000001"]  # BCP did not exist in 2018
    membership = query("SELECT * FROM core_geo__area_membership")
    cumbria = ["E07000026", "E07000027", "E07000028", "E07000029", "E07000030", "E07000031"]
    base = {"indicator_id": "x", "sex": "persons", "age": "all"}
    def period(label, codes):
        return pd.DataFrame([{**base, "area_code": c, "period_label": label, "period_start": dt.date(int(label), 1, 1),
                              "period_end": dt.date(int(label), 12, 31)} for c in codes])
    reorganised = pd.concat([period("2021", ["E06000001", *cumbria]), period("2023", ["E06000001", "E06000063", "E06000064"])])
    assert health.shrinking_periods(reorganised, membership).empty
    lost = pd.concat([period("2022", ["E06000001", "E06000002"]), period("2023", ["E06000001"])])
    assert list(health.shrinking_periods(lost, membership)["missing"]) == ["E06000002"]


def test_asset_checks_pass_on_the_offline_build(warehouse_copy):
    from pipelines.assets import health as health_assets
    from pipelines.resources import WarehouseResource

    wh = WarehouseResource(path=str(warehouse_copy))
    for check in (health_assets.codes_valid_for_their_vintage, health_assets.no_period_with_fewer_areas):
        result = check(wh)
        assert result.passed, result.metadata
    # break a CI in the working database: the check fails and says where
    con = duckdb.connect(str(wh.paths.working))
    con.execute("UPDATE core_health__indicator_values SET lower_ci_95 = value + 1 WHERE indicator_id = '93356' AND area_code = 'E06000001' AND period_label = '2015' AND age = 'all'")
    con.close()
    result = health_assets._ci_check("core_health__indicator_values")(wh)
    assert not result.passed and "E06000001" in result.metadata["first"].value
