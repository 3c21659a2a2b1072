"""Area profile pages: one self-contained HTML file per area, drawn the way OHID Fingertips draws them.

For each area (LAD, county/UA, combined authority, region, England, the two groups) a page shows every
indicator's latest value with its 95% confidence interval, the England and region values, and a **spine
chart** row: the area's value against the England range of local authority districts for the same
indicator, sex, age and period (worst / 25th / median / 75th / best, oriented by polarity, England's value at
the centre line, the marker coloured by the area's comparison with England). Each row has a trend sparkline
with England's series as the benchmark. Below: the population pyramid from the single-year estimates (with
England's shape as an outline), deprivation, research funding per head where the observatory has it, and a
source list: every number links to the file it came from (file name, publisher, licence, retrieval date).

Charts are inline SVG (no scripts, no external files), so a page opens anywhere and prints crisply.
All data for a batch of areas is read with four queries (``warehouse/outputs/sql/profile_*.sql``), so one
page or all of them cost about the same number of round trips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import datetime as dt
import html
import math
from collections import namedtuple
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

import duckdb

from warehouse.engine.output_guard import MARKER
from warehouse.engine.queries import query, sql_text
from warehouse.outputs.formatting import format_ci, format_value

PROFILE_AREA_TYPES = ("country", "group", "region", "combined_authority", "county", "lad")
DOMAIN_TITLES = {"health": "Health", "deprivation": "Deprivation", "economy": "Economy and productivity",
                 "funding": "Research funding per head", "other": "Other measures"}
# Fingertips' comparison colours: better, similar, worse than England; not compared is an open marker.
COMPARISON_COLOURS = {"better": "#92D050", "similar": "#FFC000", "worse": "#C00000"}
NOT_COMPARED = "#ffffff"
AREA_LINE, ENGLAND_LINE = "#1b4f72", "#9a9a9a"
SEX_COLOURS = {"female": "#7b3294", "male": "#008837"}
SPINE_W, SPINE_H = 200, 18
SPARK_W, SPARK_H = 110, 26


@dataclass(frozen=True)
class PageInfo:
    code: str
    path: Path
    rows: int  # indicator rows drawn (each with a spine chart)


def profile_codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every current area a profile page is drawn for (see ``PROFILE_AREA_TYPES``)."""
    return [r[0] for r in con.execute(
        "SELECT area_code FROM core_geo__areas WHERE is_current AND area_type IN (SELECT unnest($types)) ORDER BY area_code",
        {"types": list(PROFILE_AREA_TYPES)}).fetchall()]


def _records(con: duckdb.DuckDBPyConnection, name: str, params: dict) -> list[tuple]:
    """Rows of the SQL file ``name`` as named tuples (NULL is None): far cheaper to make and walk than DataFrame rows
    (a page set reads some 140,000)."""
    cursor = con.execute(sql_text(name), params)
    record = namedtuple(name, [d[0] for d in cursor.description])  # noqa: PYI024 - its fields are the query's columns
    return list(map(record._make, cursor.fetchall()))


def _group(records: list, *keys: str) -> dict:
    """The records by the value of ``keys`` (a tuple of them for several), in their order."""
    key, out = attrgetter(*keys), {}
    for r in records:
        out.setdefault(key(r), []).append(r)
    return out


def load(con: duckdb.DuckDBPyConnection, codes: list[str]) -> dict[str, list[tuple]]:
    """Everything the pages for ``codes`` need, in four queries."""
    params = {"codes": list(codes)}
    return {name: _records(con, f"profile_{name}", params) for name in ("areas", "indicators", "trends", "pyramid")}


# --- charts (inline SVG) ------------------------------------------------------------------------------

def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _num(v) -> float | None:
    return None if v is None or _missing(v) else float(v)


def spine_position(value: float, worst: float, centre: float, best: float) -> float:
    """Where ``value`` sits on a spine from worst (0) through the centre (0.5) to best (1), clipped to [0, 1].

    Each half is scaled separately, as Fingertips does, so England's value is always the centre line.
    Works for either orientation (best above or below worst).
    """
    if value == centre:
        return 0.5
    if (value - centre) * (worst - centre) > 0:  # on the worst side
        span = worst - centre
        t = 0.5 - 0.5 * (value - centre) / span if span else 0.0
    else:
        span = best - centre
        t = 0.5 + 0.5 * (value - centre) / span if span else 1.0
    return min(1.0, max(0.0, t))


def spine_svg(row, area_name: str) -> str:
    """One spine-chart row: LAD range (light), interquartile range (dark), England line, region and area markers."""
    lo, q1, q3, hi = (_num(row.lad_min), _num(row.lad_q1), _num(row.lad_q3), _num(row.lad_max))
    value = _num(row.value)
    if None in (lo, q1, q3, hi) or value is None or hi == lo:
        return "<span class='muted'>no England LAD range</span>"
    polarity = row.polarity or "no_judgement"
    worst, best = (hi, lo) if polarity == "low_is_good" else (lo, hi)
    centre = _num(row.england_value)
    if centre is None or not (min(lo, hi) <= centre <= max(lo, hi)):
        centre = _num(row.lad_median)

    def x(v: float) -> float:
        return round(4 + spine_position(v, worst, centre, best) * (SPINE_W - 8), 1)

    a, b = sorted((x(q1), x(q3)))
    fill = COMPARISON_COLOURS.get(row.compared_to_england or "", NOT_COMPARED)
    parts = [
        f"<svg class='spine' role='img' width='{SPINE_W}' height='{SPINE_H}' viewBox='0 0 {SPINE_W} {SPINE_H}'>",
        f"<title>{html.escape(_spine_title(row, area_name, worst, best))}</title>",
        f"<rect x='4' y='4' width='{SPINE_W - 8}' height='{SPINE_H - 8}' fill='#d9d9d9'/>",
        f"<rect x='{a}' y='4' width='{max(b - a, 1)}' height='{SPINE_H - 8}' fill='#8c8c8c'/>",
        f"<line x1='{SPINE_W / 2}' y1='1' x2='{SPINE_W / 2}' y2='{SPINE_H - 1}' stroke='#c00000' stroke-width='2'/>",
    ]
    region = _num(row.region_value)
    if region is not None and row.area_code != row.region_code:
        rx = x(region)
        parts.append(f"<path d='M{rx} 4 l4 5 l-4 5 l-4 -5 z' fill='none' stroke='#000' stroke-width='1.2'/>")
    parts.append(f"<circle cx='{x(value)}' cy='{SPINE_H / 2}' r='5' fill='{fill}' stroke='#333' stroke-width='1'/>")
    parts.append("</svg>")
    return "".join(parts)


def _spine_title(row, area_name: str, worst, best) -> str:
    u = row.unit
    return (f"{area_name}: {format_value(row.value, u)}; England {format_value(row.england_value, u)}; "
            f"LADs: worst {format_value(worst, u)}, 25th {format_value(row.lad_q1, u)}, median {format_value(row.lad_median, u)}, "
            f"75th {format_value(row.lad_q3, u)}, best {format_value(best, u)} ({int(row.lad_count)} LADs)")


def sparkline_svg(series: list, unit: str | None) -> str:
    """The area's values over time (solid) and England's (dashed), on one shared scale."""
    values = [float(r.value) for r in series]
    england = [float("nan") if r.england_value is None else float(r.england_value) for r in series]
    if len(values) < 2:
        return "<span class='muted'>one period</span>"
    everything = [v for v in values + england if not _missing(v)]
    lo, hi = min(everything), max(everything)
    span = (hi - lo) or 1.0
    n = len(values)

    def pt(i, v):
        return f"{3 + i * (SPARK_W - 6) / (n - 1):.1f},{SPARK_H - 3 - (v - lo) / span * (SPARK_H - 6):.1f}"

    area = " ".join(pt(i, v) for i, v in enumerate(values))
    eng = " ".join(pt(i, v) for i, v in enumerate(england) if not _missing(v))
    first, last = series[0], series[-1]
    title = (f"{first.period_label}: {format_value(first.value, unit)} → {last.period_label}: {format_value(last.value, unit)}"
             f" (England {format_value(first.england_value, unit)} → {format_value(last.england_value, unit)})")
    lx, ly = pt(n - 1, values[-1]).split(",")
    return (f"<svg class='spark' role='img' width='{SPARK_W}' height='{SPARK_H}' viewBox='0 0 {SPARK_W} {SPARK_H}'>"
            f"<title>{html.escape(title)}</title>"
            + (f"<polyline points='{eng}' fill='none' stroke='{ENGLAND_LINE}' stroke-width='1.2' stroke-dasharray='3 2'/>" if eng else "")
            + f"<polyline points='{area}' fill='none' stroke='{AREA_LINE}' stroke-width='1.6'/>"
            f"<circle cx='{lx}' cy='{ly}' r='2.2' fill='{AREA_LINE}'/></svg>")


PYRAMID_W, PYRAMID_ROW_H, PYRAMID_GAP, PYRAMID_TOP, PYRAMID_BOTTOM, PYRAMID_AGES = 560, 3, 36, 10, 34, 91


def _row_y(age: int) -> int:
    """The top of a single year of age's row in the pyramid (age 0 at the bottom)."""
    return PYRAMID_TOP + (PYRAMID_AGES - 1 - age) * PYRAMID_ROW_H


# each row's top and bottom as drawn, formatted once for every page
_ROW_TOP = [f"{_row_y(age):.1f}" for age in range(PYRAMID_AGES)]
_ROW_BOTTOM = [f"{_row_y(age) + PYRAMID_ROW_H:.1f}" for age in range(PYRAMID_AGES)]


def pyramid_shares(rows: list) -> dict[tuple[str, int], float]:
    """% of the rows' population at each (sex, single year of age): what a pyramid draws."""
    total = sum(r.population for r in rows) or 1
    return {(r.sex, int(r.age_years)): r.population / total * 100 for r in rows}


def pyramid_svg(area: list, england_share: dict[tuple[str, int], float], area_name: str) -> str:
    """Population pyramid: % of the area's population at each single year of age, males left, females right,
    with England's shape (``pyramid_shares`` of England's rows, the same for every page) as a black outline."""
    if not area:
        return "<p class='muted'>No single-year population estimates for this area.</p>"
    w, row_h, mid_gap, top, bottom = PYRAMID_W, PYRAMID_ROW_H, PYRAMID_GAP, PYRAMID_TOP, PYRAMID_BOTTOM
    ages = PYRAMID_AGES
    h = top + ages * row_h + bottom
    share = pyramid_shares(area)
    peak = max(list(share.values()) + list(england_share.values()) + [0.1])
    scale = (w / 2 - mid_gap / 2 - 10) / peak
    cx = w / 2

    parts = [f"<svg class='pyramid' role='img' width='{w}' height='{h}' viewBox='0 0 {w} {h}'>",
             f"<title>Population by single year of age, {html.escape(area_name)}</title>"]
    height = f"{row_h - 0.4}"
    for sex, sign in (("male", -1), ("female", 1)):
        colour = SEX_COLOURS[sex]
        for age in range(ages):
            length = share.get((sex, age), 0) * scale
            x0 = cx + mid_gap / 2 if sign > 0 else cx - mid_gap / 2 - length
            parts.append(f"<rect x='{x0:.1f}' y='{_ROW_TOP[age]}' width='{length:.1f}' height='{height}' fill='{colour}' opacity='0.8'/>")
        if england_share:
            pts = []
            for age in range(ages):
                xe = f"{cx + sign * (mid_gap / 2 + england_share.get((sex, age), 0) * scale):.1f}"
                pts += [f"{xe},{_ROW_BOTTOM[age]}", f"{xe},{_ROW_TOP[age]}"]
            parts.append(f"<polyline points='{' '.join(pts)}' fill='none' stroke='#000' stroke-width='0.8'/>")
    for age in (0, 10, 20, 30, 40, 50, 60, 70, 80, 90):
        label = "90+" if age == 90 else str(age)
        parts.append(f"<text x='{cx}' y='{_row_y(age) + row_h}' font-size='9' text-anchor='middle'>{label}</text>")
    step = 0.5 if peak < 2 else 1.0
    tick = step
    while tick <= peak:
        for sign in (-1, 1):
            tx = cx + sign * (mid_gap / 2 + tick * scale)
            parts.append(f"<line x1='{tx:.1f}' y1='{h - bottom + 2}' x2='{tx:.1f}' y2='{h - bottom + 6}' stroke='#555'/>"
                         f"<text x='{tx:.1f}' y='{h - bottom + 16}' font-size='9' text-anchor='middle'>{tick:g}%</text>")
        tick += step
    parts.append(f"<text x='{cx - mid_gap / 2 - 4}' y='{h - 4}' font-size='11' text-anchor='end' fill='{SEX_COLOURS['male']}'>Males</text>"
                 f"<text x='{cx + mid_gap / 2 + 4}' y='{h - 4}' font-size='11' fill='{SEX_COLOURS['female']}'>Females</text></svg>")
    return "".join(parts)


# --- page ---------------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1180px;margin:1.5em auto;padding:0 1em;color:#222;font-size:14px}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #1b4f72;padding-bottom:.2em}
.meta{color:#555}.muted{color:#888;font-size:12px}
table.profile{border-collapse:collapse;width:100%;table-layout:fixed}
table.profile th{text-align:left;font-weight:600;border-bottom:2px solid #999;padding:4px 6px;font-size:12px;vertical-align:bottom}
table.profile td{border-bottom:1px solid #e3e3e3;padding:3px 6px;vertical-align:middle}
td.num,th.num{text-align:right;white-space:nowrap}td.chart{white-space:nowrap;width:1%}
td.ind{overflow-wrap:break-word}td.period{white-space:nowrap}td.num .ci{white-space:normal}.unit{color:#666;font-size:11px}.ci{color:#666;font-size:11px;display:block}
a.src{color:inherit;text-decoration:none;border-bottom:1px dotted #888}sup a{font-size:10px;color:#1b4f72}
.legend svg{vertical-align:middle}.legend span{margin-right:1.2em;white-space:nowrap}
ol.sources li{margin-bottom:.4em;overflow-wrap:anywhere}.pyr{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}
"""


def _legend() -> str:
    def dot(colour):
        return (f"<svg width='14' height='14'><circle cx='7' cy='7' r='5' fill='{colour}' stroke='#333'/></svg>")
    return ("<p class='legend'>"
            f"<span>{dot(COMPARISON_COLOURS['better'])} better than England</span>"
            f"<span>{dot(COMPARISON_COLOURS['similar'])} similar</span>"
            f"<span>{dot(COMPARISON_COLOURS['worse'])} worse</span>"
            f"<span>{dot(NOT_COMPARED)} not compared (no confidence interval or no polarity)</span>"
            "<span><svg width='14' height='14'><path d='M7 2 l4 5 l-4 5 l-4 -5 z' fill='none' stroke='#000'/></svg> region</span>"
            "<span><svg width='30' height='14'><rect x='0' y='3' width='30' height='8' fill='#d9d9d9'/><rect x='9' y='3' width='12' height='8' fill='#8c8c8c'/>"
            "<line x1='15' y1='0' x2='15' y2='14' stroke='#c00000' stroke-width='2'/></svg> England's LADs: worst to best, 25th–75th percentile (dark), England (red line)</span>"
            f"<span><svg width='30' height='14'><line x1='0' y1='9' x2='30' y2='5' stroke='{AREA_LINE}' stroke-width='1.6'/>"
            f"<line x1='0' y1='11' x2='30' y2='9' stroke='{ENGLAND_LINE}' stroke-dasharray='3 2'/></svg> trend: area (solid), England (dashed)</span></p>")


def _breakdown(sex: str, age: str) -> str:
    bits = [] if sex == "persons" else [sex]
    if age and age != "all":
        bits.append(f"age {age}")
    return f" <span class='muted'>({', '.join(bits)})</span>" if bits else ""


def _source_key(sha) -> str:
    return f"src-{str(sha)[:12]}" if sha and not _missing(sha) else ""


def render_page(area: tuple, indicators: list, trends: list, pyramid: list,
                england_pyramid: dict[tuple[str, int], float], sources: dict[str, dict], generated: str) -> tuple[str, int]:
    """The HTML of one area's profile page, and how many indicator rows it draws."""
    name = str(area.area_name)
    footnotes: dict[str, int] = {}

    def cite(sha) -> tuple[str, str]:
        key = _source_key(sha)
        if not key or key not in sources:
            return "", ""
        n = footnotes.setdefault(key, len(footnotes) + 1)
        return f"#{key}", f"<sup><a href='#{key}'>[{n}]</a></sup>"

    def linked(text: str, href: str) -> str:
        return f"<a class='src' href='{href}'>{html.escape(text)}</a>" if href else html.escape(text)

    pieces = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='generator' content='{MARKER}'>"
              "<meta name='viewport' content='width=device-width'>"
              f"<title>{html.escape(name)}: area profile</title><style>{CSS}</style></head><body>",
              f"<h1>{html.escape(name)}</h1>"]
    facts = [f"{str(area.area_type).replace('_', ' ')} <code>{html.escape(str(area.area_code))}</code>"]
    if isinstance(area.region_name, str):
        facts.append(f"region: {html.escape(area.region_name)}")
    if isinstance(area.part_of, str):
        facts.append(f"part of: {html.escape(area.part_of)}")
    if not _missing(area.population):
        pop_href, pop_sup = cite(pyramid[0].source_sha256) if pyramid else ("", "")
        facts.append(f"population {linked(format_value(area.population, 'persons'), pop_href)}{pop_sup} (mid-{int(area.population_year)})")
    pieces.append(f"<p class='meta'>{' · '.join(facts)}</p>")
    pieces.append("<p class='meta'>Every indicator's latest value, against England and the region. The spine chart places the "
                  "value within the range of England's local authority districts for the same period, worst on the left and "
                  "best on the right (for measures with no better direction: lowest to highest). Numbers link to their source below.</p>")
    pieces.append(_legend())
    drawn = 0
    if not indicators:
        pieces.append("<p class='muted'>The warehouse holds no indicator values for this area.</p>")
    by_key = _group(trends, "indicator_id", "sex", "age")
    for domain, rows in _group(indicators, "domain").items():
        pieces.append(f"<h2>{html.escape(DOMAIN_TITLES.get(domain, domain.capitalize()))}</h2>")
        pieces.append("<table class='profile'><colgroup><col><col style='width:78px'><col style='width:120px'><col style='width:84px'>"
                      f"<col style='width:84px'><col style='width:{SPINE_W + 14}px'><col style='width:{SPARK_W + 14}px'></colgroup>"
                      "<thead><tr><th>Indicator</th><th>Period</th><th class='num'>Value<br><span class='muted'>95% CI</span></th>"
                      "<th class='num'>England</th><th class='num'>Region</th><th>Compared with England's districts</th><th>Trend</th></tr></thead><tbody>")
        for row in rows:
            href, sup = cite(row.sha256)
            unit = row.unit
            ci = format_ci(row.lower_ci_95, row.upper_ci_95, unit, short=True)
            method = "" if row.value_method in ("published", None) or _missing(row.value_method) else f"<span class='ci'>{html.escape(str(row.value_method).replace('_', ' '))}</span>"
            series = by_key.get((row.indicator_id, row.sex, row.age))
            spark = sparkline_svg(series, unit) if series is not None else ""
            region = "" if row.region_code == row.area_code else linked(format_value(row.region_value, unit, short=True), href) if not _missing(row.region_value) else "–"
            pieces.append(
                "<tr>"
                f"<td class='ind'>{html.escape(str(row.indicator))}{_breakdown(row.sex, row.age)}{sup}"
                f"<br><span class='unit'>{html.escape(str(unit or ''))}</span></td>"
                f"<td class='period'>{html.escape(str(row.latest_period))}</td>"
                f"<td class='num'>{linked(format_value(row.value, unit, short=True), href)}{f'<span class=ci>{html.escape(ci)}</span>' if ci else ''}{method}</td>"
                f"<td class='num'>{linked(format_value(row.england_value, unit, short=True), href)}</td>"
                f"<td class='num'>{region}</td>"
                f"<td class='chart'>{spine_svg(row, name)}</td>"
                f"<td class='chart'>{spark}</td></tr>")
            drawn += 1
        pieces.append("</tbody></table>")
        if domain == "deprivation":
            pieces.append("<p class='muted'>Indices of Deprivation: a rank of 1 is the most deprived district in England; "
                          "combined authorities, regions and groups are population-weighted estimates.</p>")
    if "funding" not in {r.domain for r in indicators}:
        pieces.append(f"<h2>{DOMAIN_TITLES['funding']}</h2><p class='muted'>No research funding per head figure for this area: "
                      "the published totals cover combined authorities, London, regions and the two groups; award-level data "
                      "(live mode) places awards in districts by postcode.</p>")
    pieces.append("<h2>Population</h2><div class='pyr'>")
    pieces.append(pyramid_svg(pyramid, england_pyramid, name))
    if pyramid:
        href, sup = cite(pyramid[0].source_sha256)
        pieces.append(f"<p class='meta'>Mid-{int(pyramid[0].year)} estimates by single year of age (90 = 90 and over), "
                      f"as a share of the area's population; the black outline is England.{sup}</p>")
    pieces.append("</div>")
    pieces.append("<h2 id='sources'>Sources</h2><ol class='sources'>")
    for key, n in sorted(footnotes.items(), key=lambda kv: kv[1]):
        s = sources[key]
        retrieved = s["retrieved_at"]
        retrieved = retrieved.strftime("%Y-%m-%d") if hasattr(retrieved, "strftime") else str(retrieved)
        pieces.append(
            f"<li id='{key}' value='{n}'><b>{html.escape(str(s['title']))}</b>. {html.escape(str(s['publisher']))}. "
            f"File <code>{html.escape(str(s['file_name']))}</code> (SHA-256 {html.escape(str(s['sha256'])[:16])}…), "
            f"licence {html.escape(str(s['licence']))}, "
            + (f"published {html.escape(s['published'])}, " if s.get("published") else "")
            + f"retrieved {html.escape(retrieved)} ({html.escape(str(s['mode']))})."
            + (f" <a href='{html.escape(s['url'], quote=True)}'>Publisher's page</a>." if str(s.get("url", "")).startswith("http") else "")
            + "</li>")
    pieces.append("</ol>")
    pieces.append(f"<p class='muted'>Generated {generated} by the Northern Health &amp; Wealth Observatory. Contains public sector "
                  "information licensed under the Open Government Licence v3.0.</p></body></html>")
    return "".join(pieces), drawn


def write_profiles(con: duckdb.DuckDBPyConnection, codes: list[str], out_dir: Path,
                   names: dict[str, str] | None = None) -> dict[str, PageInfo]:
    """Write one page per area code into ``out_dir`` (file ``<code>.html`` unless ``names`` says otherwise)."""
    data = load(con, codes)
    shas = sorted({r.sha256 for r in data["indicators"] if r.sha256} | {r.source_sha256 for r in data["pyramid"] if r.source_sha256})
    sources = {_source_key(r.sha256): r._asdict() for r in _records(con, "profile_sources", {"shas": shas})}
    from sources.catalogue import catalogue  # the publisher's page and release date of each source

    entries = catalogue()
    for record in sources.values():
        entry = entries.get(record["source_id"])
        record["url"] = getattr(entry, "url", "") or ""
        record["published"] = getattr(entry, "published", "") or ""
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ind, tr, pyr = (_group(data[k], "area_code") for k in ("indicators", "trends", "pyramid"))
    england_pyr = pyramid_shares(pyr.get("E92000001", []))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for area in data["areas"]:
        page, drawn = render_page(area, ind.get(area.area_code, []), tr.get(area.area_code, []),
                                  pyr.get(area.area_code, []), england_pyr, sources, generated)
        target = out_dir / (names or {}).get(area.area_code, f"{area.area_code}.html")
        target.write_text(page, encoding="utf-8")
        written[area.area_code] = PageInfo(area.area_code, target, drawn)
    return written


def write_index(con: duckdb.DuckDBPyConnection, pages: dict[str, PageInfo], out_dir: Path) -> Path:
    """An index page linking every profile, grouped by area type."""
    areas = query(con, "profile_areas", codes=list(pages))
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='generator' content='{MARKER}'>"
             f"<title>Area profiles</title><style>{CSS}</style></head><body>",
             "<h1>Area profiles</h1>"]
    for area_type in PROFILE_AREA_TYPES:
        group = areas[areas["area_type"] == area_type].sort_values("area_name")
        if group.empty:
            continue
        parts.append(f"<h2>{area_type.replace('_', ' ').capitalize()}</h2><p>")
        parts.append(" · ".join(f"<a href='{html.escape(pages[r.area_code].path.name)}'>{html.escape(r.area_name)}</a>" for r in group.itertuples()))
        parts.append("</p>")
    parts.append("</body></html>")
    target = out_dir / "index.html"
    target.write_text("".join(parts), encoding="utf-8")
    return target


@dataclass(frozen=True)
class PagesWritten:
    index: Path
    north_south: Path
    pages: dict[str, PageInfo]


def write_pages(published: Path, outputs: Path) -> PagesWritten:
    """Every area's profile page (``outputs/profiles/``), their index, and the North against the Greater South East
    page (``outputs/north_south.html``), read from the published warehouse file. The index is written after the
    pages: its timestamp marks a complete set."""
    from warehouse.outputs import north_south

    out_dir = outputs / "profiles"
    con = duckdb.connect(str(published), read_only=True)
    try:
        pages = write_profiles(con, profile_codes(con), out_dir)
        index = write_index(con, pages, out_dir)
        north = north_south.write_page(con, outputs / "north_south.html")
    finally:
        con.close()
    return PagesWritten(index, north, pages)


def comparison(con: duckdb.DuckDBPyConnection, codes: list[str], search: str | None = None) -> pd.DataFrame:
    """Areas side by side: one row per indicator (and sex/age), each area's latest value and period, and England."""
    import pandas as pd

    data = load(con, codes)
    ind = pd.DataFrame([r._asdict() for r in data["indicators"]])
    areas = {a.area_code: a.area_name for a in data["areas"]}
    if ind.empty:
        return pd.DataFrame()
    if search:
        words = search.lower().split()
        hay = (ind["indicator_id"] + " " + ind["indicator"] + " " + ind["domain"]).str.lower()
        ind = ind[hay.map(lambda h: all(w in h for w in words))]
    if ind.empty:
        return pd.DataFrame()
    ind = ind.assign(shown=[f"{format_value(v, u)} ({p})" for v, u, p in zip(ind["value"], ind["unit"], ind["latest_period"])],
                     measure=[f"{n}" + ("" if s == "persons" else f", {s}") + ("" if a == "all" else f", {a}")
                              for n, s, a in zip(ind["indicator"], ind["sex"], ind["age"])])
    wide = ind.pivot_table(index=["domain", "measure", "indicator_id", "sex", "age"], columns="area_code", values="shown", aggfunc="first")
    england = ind.groupby(["domain", "measure", "indicator_id", "sex", "age"]).apply(
        lambda g: format_value(g["england_value"].iloc[0], g["unit"].iloc[0]), include_groups=False)
    wide = wide.reindex(columns=[c for c in codes if c in wide.columns])
    wide.columns = [areas.get(c, c) for c in wide.columns]
    wide["England"] = england
    return wide.reset_index().drop(columns=["indicator_id", "sex", "age"]).fillna("–")
