"""Area profiles and the North-vs-South page on the built warehouse: names resolve, every indicator with data
gets a spine chart row, numbers link to their sources, scales are polarity-aware and never squashed."""

import re

import duckdb
import pytest

from warehouse.outputs import north_south, profiles
from warehouse.outputs.areas import AmbiguousArea, AreaNotFound, resolve_area, search_areas, search_indicators


@pytest.fixture()
def con(built_warehouse):
    connection = duckdb.connect(str(built_warehouse), read_only=True)
    yield connection
    connection.close()


@pytest.mark.parametrize("typed, code", [
    ("Hull", "E06000010"),                 # a word of "Kingston upon Hull, City of"; the CA named after it is an alternative
    ("kingston upon hull", "E06000010"),   # exact name without the ", City of" suffix
    ("E06000010", "E06000010"),            # a code
    ("e08000035", "E08000035"),            # codes ignore case
    ("north", "north"),                    # a group code
    ("Barnsly", "E08000016"),              # a near miss
    ("Greater Manchester", "E47000001"),
])
def test_areas_resolve_by_code_name_word_or_near_miss(con, typed, code):
    assert resolve_area(con, typed).code == code


def test_hull_is_a_whole_word_so_solihull_never_matches(con):
    area = resolve_area(con, "Hull")
    assert "Solihull" not in " ".join(area.also)
    assert any("E47000016" in a for a in area.also)


def test_ambiguous_and_unknown_names_list_candidates(con):
    with pytest.raises(AmbiguousArea) as ambiguous:
        resolve_area(con, "Newcastle")
    assert "E08000021" in str(ambiguous.value) and "E07000195" in str(ambiguous.value)
    with pytest.raises(AreaNotFound):
        resolve_area(con, "qqqqzzzz")


def test_area_and_indicator_search(con):
    lads = search_areas(con, "york", "lad")
    assert set(lads["area_code"]) >= {"E06000014", "E06000065"} and set(lads["area_type"]) == {"lad"}
    found = search_indicators(con, "life expectancy")
    assert {"90362", "90366"} <= set(found["indicator_id"])


def test_spine_position_centres_england_and_follows_polarity():
    # high is good: worst 50, England 60, best 70
    assert profiles.spine_position(60, 50, 60, 70) == 0.5
    assert profiles.spine_position(50, 50, 60, 70) == 0.0 and profiles.spine_position(70, 50, 60, 70) == 1.0
    assert profiles.spine_position(65, 50, 60, 70) == 0.75
    # low is good: worst 300, England 150, best 100; a value of 120 is better than England, right of centre
    assert profiles.spine_position(120, 300, 150, 100) == pytest.approx(0.8)
    assert profiles.spine_position(500, 300, 150, 100) == 0.0  # beyond the LAD range: clipped, not off the chart


def test_hull_profile_has_a_spine_row_for_every_indicator_with_data(con, tmp_path):
    pages = profiles.write_profiles(con, ["E06000010"], tmp_path)
    page = pages["E06000010"].path.read_text()
    expected = con.execute(
        "SELECT count(*) FROM mart_area_profile WHERE area_code = 'E06000010' AND value IS NOT NULL").fetchone()[0]
    assert expected > 10 and pages["E06000010"].rows == expected
    assert page.count("<svg class='spine'") + page.count("no England LAD range") == expected
    assert page.count("<svg class='spine'") >= expected - 2
    assert "<script" not in page and "http" not in page.split("<body>", 1)[1].split("id='sources'")[0]  # self-contained
    # every value links to a source entry that names file, publisher and licence
    links = set(re.findall(r"href='#(src-[0-9a-f]{12})'", page))
    assert links and all(f"id='{key}'" in page for key in links)
    assert "OGL-UK-3.0" in page and "trafford_themes_life_expectancy.csv" in page
    assert "<svg class='pyramid'" in page and "<svg class='spark'" in page
    assert "Kingston upon Hull" in page and "Yorkshire and The Humber" in page


def test_every_area_type_gets_a_page(con, tmp_path):
    codes = profiles.profile_codes(con)
    county = con.execute("SELECT min(area_code) FROM core_geo__areas WHERE area_type = 'county' AND is_current").fetchone()[0]
    chosen = ["E92000001", "north", "greater_south_east", "E12000003", "E47000001", county]
    assert set(chosen) <= set(codes)
    pages = profiles.write_profiles(con, chosen, tmp_path)
    assert set(pages) == set(chosen)
    assert all(p.rows > 0 for p in pages.values())
    funding = pages["E47000001"].path.read_text()
    assert "Research funding per head" in funding and "£" in funding
    index = profiles.write_index(con, pages, tmp_path)
    assert "E47000001.html" in index.read_text()


def test_comparison_puts_areas_side_by_side(con):
    table = profiles.comparison(con, ["E06000010", "E08000035"], "life expectancy")
    assert list(table.columns) == ["domain", "measure", "Kingston upon Hull, City of", "Leeds", "England"]
    assert table["England"].str.endswith("years").all()


def test_north_south_page_is_polarity_aware_and_clips_outliers(con, tmp_path):
    data = north_south.load(con)
    latest = data[data["is_latest"]]
    assert not latest.empty and set(latest["verdict"]) <= {"North better", "North worse", "no judgement", "equal"}
    # better_gap is positive exactly when the North is better, whatever the polarity
    judged = latest[latest["verdict"].isin(["North better", "North worse"])]
    assert ((judged["better_gap"] > 0) == (judged["verdict"] == "North better")).all()
    page = north_south.write_page(con, tmp_path / "ns.html").read_text()
    assert "<svg class='diverging'" in page and "North better" in page and "North worse" in page
    if (latest["relative_gap"].abs() > north_south.CLIP).any():
        assert "(off scale)" in page
    assert "Methods:" in page  # the research-funding projection methods, stated in full
