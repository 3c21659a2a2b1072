"""Claims on the five seed reports and on sentences the extractor never saw: one test per claim kind, the noise rules, places."""

from pathlib import Path

import pytest

from sources.reports.claims import CLAIM_KINDS, PlaceMatcher, extract_claims
from sources.reports.claims_accuracy import score_seeds, score_unseen
from sources.reports.text_tables import lines_of

SEEDS = Path(__file__).parents[1] / "fixtures" / "reports" / "seeds"

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
    ("E08000022", "North Tyneside", "lad"),
    ("E06000001", "Hartlepool", "lad"),
    ("E06000009", "Blackpool", "lad"),
    ("E08000006", "Salford", "lad"),
    ("E07000008", "Cambridge", "lad"),
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
    assert (total.value, total.unit, total.scale, total.kind, total.claim_kind) == (7680980.0, "GBP", 1.0, "money", "amount")
    assert total.place.code == "E47000006" and total.line == 38
    per_head = _one(claims, "£11.34", line=38)
    assert (per_head.value, per_head.unit, per_head.claim_kind) == (11.34, "GBP per head", "per_head")
    assert per_head.place.name == "Tees Valley" and per_head.measure_hint == "funding per head"


def _sentence(text: str, places) -> list:
    return extract_claims([(1, 1, text)], places)


def _kinds(text: str, places) -> dict[str, str]:
    return {c.figure: c.claim_kind for c in _sentence(text, places)}


# --- one test per claim kind: a seed sentence and a sentence the extractor never saw ----------------------

def test_amount_and_currency_conversion_is_one_claim(places):
    claims = _claims("004", places)
    (pair,) = [c for c in claims if c.line == 31]
    assert (pair.figure, pair.value, pair.unit, pair.claim_kind) == ("$17 billion (£13 billion)", 13e9, "GBP", "amount")
    assert _kinds("Leeds Teaching Hospitals received €2.5 million (£2.1 million) from Horizon Europe in 2021.", places) == \
        {"€2.5 million (£2.1 million)": "amount"}


def test_per_head(places):
    claims = _claims("000", places)
    gse, north = _one(claims, "£68.58"), _one(claims, "£25.72")
    assert (gse.claim_kind, gse.place.code, north.place.code) == ("per_head", "greater_south_east", "north")
    gva = _one(_claims("002", places), "£21,426", line=900)
    assert (gva.claim_kind, gva.measure_hint, gva.place.code) == ("per_head", "gross value added per head", "E12000003")
    assert _kinds("Spending on public health in Knowsley was £98 per head, against £63 in Surrey.", places) == \
        {"£98": "per_head", "£63": "per_head"}


def test_count_and_the_region(places):
    residents = _one(_claims("002", places), "5.4 million")
    assert (residents.claim_kind, residents.value, residents.measure_hint) == ("count", 5.4e6, "population")
    assert residents.place.code == "E12000003" and "the region" in residents.place_basis
    assert _kinds("The hospital trust treats 1.1 million patients and employs 17,000 staff.", places) == \
        {"1.1 million": "count", "17,000": "count"}


def test_level(places):
    hle = [c for c in _claims("002", places) if c.kind == "figure_value"]
    assert len(hle) == 34 and {c.claim_kind for c in hle} == {"level"}
    assert _kinds("Male life expectancy in Hartlepool was 76.4 years, and the suicide rate 14.2 per 100,000.", places) == \
        {"76.4 years": "level", "14.2": "level"}


def test_share(places):
    share = _one(_claims("002", places), "20 percent", line=903)
    assert (share.claim_kind, share.measure_hint) == ("share", "productivity")
    assert _kinds("Around a quarter of children in Blackpool live in low-income families, and 31% of adults are obese.", places) == \
        {"a quarter": "share", "31%": "share"}


def test_change(places):
    claims = _claims("002", places)
    assert _one(claims, "0.7 percent").claim_kind == "change" and _one(claims, "1.9 percent").claim_kind == "change"
    assert _one(_claims("000", places), "£81 million").claim_kind == "change"
    assert _kinds("The number of GPs in Salford fell by 8% between 2015 and 2022.", places) == {"8%": "change"}


def test_ratio(places):
    ratio = _one(_claims("000", places), "two and a half times more")
    assert (ratio.value, ratio.unit, ratio.claim_kind, ratio.place.code) == (2.5, "times", "ratio", "greater_south_east")
    assert ratio.qualifier == "over"
    assert _kinds("Children in Blackpool are four times as likely to be taken into care as those in Cambridge.", places) == \
        {"four times as likely": "ratio"}


def test_difference(places):
    gap = _one(_claims("002", places), "1 year 10 months")
    assert (gap.claim_kind, gap.unit, gap.measure_hint) == ("difference", "years", "life expectancy")
    assert abs(gap.value - (1 + 10 / 12)) < 1e-3 and gap.place.code == "E12000003"
    assert _kinds("Women in North Tyneside can expect 3 years 2 months fewer in good health than women in York.", places) == \
        {"3 years 2 months": "difference"}


def test_ranking(places):
    rank = _one(_claims("002", places), "second lowest")
    assert (rank.claim_kind, rank.value, rank.place.code) == ("ranking", 2.0, "E12000003")
    assert _kinds("Hartlepool has the third highest rate of alcohol-related admissions in England.", places) == \
        {"third highest": "ranking"}
    assert set(CLAIM_KINDS) == {"amount", "per_head", "count", "level", "share", "change", "ratio", "difference", "ranking"}


# --- what is not a claim -------------------------------------------------------------------------------

def test_years_dates_pages_footnotes_and_fragments_are_not_claims(places):
    claims = [c for name in ("000", "001", "002", "003", "004") for c in _claims(name, places)]
    figures = {c.figure for c in claims}
    assert not [f for f in figures if f.isdigit() and 1800 <= int(f) <= 2100]  # years, even "2082"
    assert not {"10", "28", "32", "27", "100", "20"} & {c.figure for c in _claims("002", places)}  # duration fragment, page, footnotes, axis
    assert not {"1.2", "6"} & {c.figure for c in _claims("003", places)}  # section number, "6-floor"
    assert not {"10", "21", "25"} & {c.figure for c in _claims("004", places)}  # a time and a date
    assert not [c for c in claims if c.line == 43 and c.text.startswith("“The NHSA is calling")]  # a policy ask
    noise = ("See page 14 and Table 3 for the results by area, published on 12 March 2024 at 09:30.",
             "1. Invest in prevention across the North.",
             "We urge government to allocate 25% of the budget to the North by 2030.",
             "Our 12-month pilot ran for 3 years in people aged 16 to 64.",
             "Department of Health NHS Barking CCG 30/04/2014 Acute Commissioning BARTS HEALTH NHS TRUST 3327505 1,455,972.85 190069.",
             "Children age 12-23 months receiving breast feeding ........ 78.6 75.0 85.9 89.3.",
             "The invoice 3309178 was paid on 2014-05-02 to supplier AG003225.")
    for text in noise:
        assert not _sentence(text, places), text


def test_places_groups_and_golden_triangle(places):
    claims = _claims("002", places)
    north, triangle = _one(claims, "£21"), _one(claims, "£62")
    assert north.place.code == "north" and triangle.place.code == "golden_triangle"  # London, Oxford and Cambridge: not the GSE
    london_oxbridge = _one(_claims("000", places), "£1.69 billion")
    assert london_oxbridge.place.code == "golden_triangle"


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


def test_precision_and_recall_on_the_judged_sets(places):
    seeds = score_seeds(SEEDS, places, include_missed_by_design=False)
    assert seeds.precision >= 0.95, seeds.false_positives
    assert seeds.recall_in_scope == 1.0, seeds.missed
    unseen = score_unseen(places)
    assert unseen.precision >= 0.9 and unseen.recall >= 0.9, (unseen.false_positives, unseen.missed)


def test_place_matcher_prefers_longest_names_and_aliases(places):
    found = [p.name for _, p in places.find("Greater Manchester and the North, unlike London and the Greater South East")]
    assert found == ["Greater Manchester", "the North", "London", "the Greater South East"]
    assert PlaceMatcher().find("the North of England")[0][1].code == "north"  # built-in aliases without a warehouse
