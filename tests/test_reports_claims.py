"""Numeric claims on the five seed reports, checked by hand against the text."""

from pathlib import Path

import pytest

from sources.reports.claims import PlaceMatcher, extract_claims
from sources.reports.text_tables import lines_of

SEEDS = Path(__file__).parent / "fixtures" / "reports" / "seeds"

# The areas the seeds name, as core_geo__areas holds them (a subset, so these tests need no warehouse).
AREAS = [
    ("E47000006", "Tees Valley Combined Authority", "combined_authority"),
    ("E47000008", "Cambridgeshire and Peterborough Combined Authority", "combined_authority"),
    ("E47000001", "Greater Manchester Combined Authority", "combined_authority"),
    ("E47000004", "Liverpool City Region", "combined_authority"),
    ("E12000007", "London", "region"),
    ("E12000003", "Yorkshire and The Humber", "region"),
    ("E92000001", "England", "country"),
    ("north", "The North", "group"),
    ("greater_south_east", "Greater South East", "group"),
    ("E08000016", "Barnsley", "lad"),
    ("E08000035", "Leeds", "lad"),
    ("E06000010", "Kingston upon Hull, City of", "lad"),
    ("E06000013", "North Lincolnshire", "lad"),
    ("E06000014", "York", "lad"),
    ("E08000012", "Liverpool", "lad"),
    ("E08000003", "Manchester", "lad"),
    ("E08000032", "Bradford", "lad"),
    ("E08000033", "Calderdale", "lad"),
    ("E08000017", "Doncaster", "lad"),
    ("E06000011", "East Riding of Yorkshire", "lad"),
    ("E08000034", "Kirklees", "lad"),
    ("E06000012", "North East Lincolnshire", "lad"),
    ("E06000065", "North Yorkshire", "lad"),
    ("E08000018", "Rotherham", "lad"),
    ("E08000019", "Sheffield", "lad"),
    ("E08000036", "Wakefield", "lad"),
]


@pytest.fixture(scope="module")
def places():
    return PlaceMatcher(AREAS)


def _claims(name: str, places):
    (path,) = SEEDS.glob(f"{name}_*.txt")
    return extract_claims(lines_of(path.read_text(encoding="utf-8")), places)


def _one(claims, figure: str, line: int | None = None):
    found = [c for c in claims if c.figure == figure and (line is None or c.line == line)]
    assert found, f"no claim {figure!r}" + (f" on line {line}" if line else "")
    return found[0]


def test_tees_valley_headline(places):
    claims = _claims("000", places)
    total = _one(claims, "£7,680,980")
    assert (total.value, total.unit, total.scale, total.kind) == (7680980.0, "GBP", 1.0, "money")
    assert total.place.code == "E47000006" and total.line == 38
    per_head = _one(claims, "£11.34", line=38)
    assert (per_head.value, per_head.unit, per_head.kind) == (11.34, "GBP per head", "per_head")
    assert per_head.place.name == "Tees Valley" and per_head.measure_hint == "funding per head"


def test_north_versus_greater_south_east_per_head(places):
    claims = _claims("000", places)
    gse, north = _one(claims, "£68.58"), _one(claims, "£25.72")
    assert (gse.value, gse.unit, gse.area_code if hasattr(gse, "area_code") else gse.place.code) == (68.58, "GBP per head", "greater_south_east")
    assert (north.value, north.place.code) == (25.72, "north")
    assert gse.line == north.line == 26
    ratio = _one(claims, "two and a half times more")
    assert (ratio.value, ratio.unit, ratio.kind) == (2.5, "times", "ratio")


def test_money_with_scale_words_and_places(places):
    claims = _claims("000", places)
    north = _one(claims, "£405 million")
    assert north.value == 405e6 and north.scale == 1e6 and north.place.code == "north" and north.period == "2022"
    london = _one(claims, "£1.69 billion")
    assert london.value == pytest.approx(1.69e9) and london.scale == 1e9
    cambs = _one(claims, "£337.85", line=18)
    assert cambs.place.name == "Cambridgeshire and Peterborough" and cambs.place.code == "E47000008"
    assert {p.code for p in cambs.places} >= {"E47000006", "E47000008"}


def test_healthy_life_expectancy_by_area_from_the_chart(places):
    claims = [c for c in _claims("002", places) if c.kind == "figure_value"]
    by = {(c.place.name, c.series): c for c in claims}
    assert by[("England", "male")].value == 63.4 and by[("England", "female")].value == 63.8
    assert by[("Yorkshire and the Humber", "male")].value == 61.7
    assert by[("Barnsley", "male")].value == 59.7 and by[("Barnsley", "female")].value == 61.0
    assert by[("Kingston upon Hull", "female")].value == 56.9
    assert by[("North Lincolnshire", "female")].value == 61.2  # printed "North LIncolnshire"
    assert by[("York", "male")].value == 65.3
    england = by[("England", "male")]
    assert england.measure_hint == "healthy life expectancy" and england.period == "2015-2017" and england.unit == "years"
    assert len(claims) == 34  # England, the region and 15 areas, men and women


def test_currency_pairs_percent_and_counts(places):
    claims = _claims("004", places)
    usd, gbp = _one(claims, "$2bn"), _one(claims, "£16 billion")
    assert (usd.value, usd.unit) == (2e9, "USD") and (gbp.value, gbp.unit) == (16e9, "GBP")
    assert _one(claims, "£5.7m").value == pytest.approx(5.7e6) and _one(claims, "£5.7m").place.code == "E47000006"
    assert _one(claims, "20%").value == 20.0 and _one(claims, "20%").unit == "percent"
    jobs = _one(claims, "50,000")
    assert (jobs.value, jobs.kind, jobs.measure_hint) == (50000.0, "count", "jobs")
    assert not [c for c in claims if c.figure in ("10", "21", "25")]  # a time and a date are not counts


def test_every_seed_gives_claims_with_line_references(places):
    for name in ("000", "001", "002", "003", "004"):
        claims = _claims(name, places)
        assert claims, name
        assert all(c.page == c.line >= 1 for c in claims)  # text documents: page = line
        assert not [c for c in claims if c.figure.startswith("19") and "COVID" in c.text and c.kind == "count"]


def test_place_matcher_prefers_longest_names_and_aliases(places):
    found = [p.name for _, p in places.find("Greater Manchester and the North, unlike London and the Greater South East")]
    assert found == ["Greater Manchester", "the North", "London", "the Greater South East"]
    assert PlaceMatcher().find("the North of England")[0][1].code == "north"  # built-in aliases without a warehouse
