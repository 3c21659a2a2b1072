"""The North against the Greater South East: one page (and the report's chart) from ``mart_north_south__gaps``.

For every measure both groups have (rates, ratios, per-head figures; totals are left out because they compare
the groups' sizes), the page shows the latest gap as a **diverging bar**: bars to the right mean the North is
better, to the left worse, whatever the measure's polarity ("better" is stated per row); grey for measures with
no better direction. The scale is fixed at ±``CLIP`` so one extreme bar (the share of neighbourhoods in the most
deprived tenth is several times higher in the North) cannot squash the rest: a clipped bar ends in an arrow
and carries its true value. Each row also has the gap over time (a sparkline of the signed gap), and the
research-funding rows state their projection methods in full.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.engine.output_guard import MARKER
from warehouse.engine.queries import query
from warehouse.outputs.formatting import format_percent, format_value

CLIP = 1.0  # the diverging scale runs from -100% to +100%; beyond that a bar is clipped and labelled
VERDICT_COLOURS = {"North better": "#1a9850", "North worse": "#d73027", "no judgement": "#9e9e9e", "equal": "#9e9e9e"}
DOMAIN_TITLES = {"health": "Health", "economy": "Economy and productivity", "deprivation": "Deprivation",
                 "funding": "Research funding"}


def load(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every period of every comparable measure (``north_south_page.sql``)."""
    return query(con, "north_south_page")


def row_label(row) -> str:
    bits = [] if row.sex == "persons" else [row.sex]
    if row.age and row.age != "all":
        bits.append(row.age)
    return f"{row.label}" + (f" ({', '.join(bits)})" if bits else "") + f", {row.period_label}"


def _higher_lower(relative_gap) -> str:
    """'North 53% higher' / 'North 3% lower': the raw difference, whose meaning the bar's colour gives."""
    if pd.isna(relative_gap):
        return ""
    return f"North {abs(relative_gap) * 100:,.0f}% {'higher' if relative_gap > 0 else 'lower'}"


def diverging_svg(latest: pd.DataFrame, width: int = 1120) -> str:
    """Horizontal diverging bars of the signed gap (North better to the right), clipped at ±CLIP with labels."""
    label_w, value_w, row_h, top, bottom = 420, 170, 22, 30, 56
    plot_w = width - label_w - value_w
    h = top + row_h * len(latest) + bottom
    zero = label_w + plot_w / 2

    def x(v: float) -> float:
        return zero + max(-CLIP, min(CLIP, v)) / CLIP * (plot_w / 2)

    parts = [f"<svg class='diverging' role='img' width='{width}' height='{h}' viewBox='0 0 {width} {h}' font-family='system-ui,sans-serif'>",
             "<title>The North against the Greater South East: gap on each measure, latest period</title>",
             f"<text x='{zero - 8}' y='16' font-size='12' text-anchor='end' fill='{VERDICT_COLOURS['North worse']}'>◀ North worse</text>",
             f"<text x='{zero + 8}' y='16' font-size='12' fill='{VERDICT_COLOURS['North better']}'>North better ▶</text>"]
    for i, row in enumerate(latest.itertuples()):
        y = top + i * row_h
        gap = row.better_gap if not pd.isna(row.better_gap) else row.relative_gap
        colour = VERDICT_COLOURS.get(row.verdict, "#9e9e9e")
        if i % 2 == 0:
            parts.append(f"<rect x='0' y='{y}' width='{width}' height='{row_h}' fill='#f6f6f6'/>")
        parts.append(f"<text x='{label_w - 8}' y='{y + row_h * 0.68}' font-size='11.5' text-anchor='end'>{html.escape(row_label(row))}</text>")
        if pd.isna(gap):
            continue
        x0, x1 = sorted((zero, x(gap)))
        parts.append(f"<rect x='{x0:.1f}' y='{y + 4}' width='{max(x1 - x0, 1):.1f}' height='{row_h - 8}' fill='{colour}'>"
                     f"<title>{html.escape(row_label(row))}: North {format_value(row.north_value, row.unit)}, "
                     f"Greater South East {format_value(row.gse_value, row.unit)}</title></rect>")
        clipped = abs(gap) > CLIP
        if clipped:  # an arrow head at the clipped end
            tip = x(gap) + (8 if gap > 0 else -8)
            parts.append(f"<path d='M{x(gap):.1f} {y + 2} L{tip:.1f} {y + row_h / 2} L{x(gap):.1f} {y + row_h - 2} z' fill='{colour}'/>")
        text = _higher_lower(row.relative_gap) + (" (off scale)" if clipped else "")
        parts.append(f"<text x='{label_w + plot_w + 6}' y='{y + row_h * 0.68}' font-size='11' fill='#333'>{html.escape(text)}</text>")
    axis_y = top + row_h * len(latest)
    parts.append(f"<line x1='{zero}' y1='{top - 4}' x2='{zero}' y2='{axis_y + 4}' stroke='#000'/>")
    for t in (-1.0, -0.5, 0.0, 0.5, 1.0):
        tx = zero + t / CLIP * (plot_w / 2)
        parts.append(f"<line x1='{tx:.1f}' y1='{axis_y}' x2='{tx:.1f}' y2='{axis_y + 5}' stroke='#555'/>"
                     f"<text x='{tx:.1f}' y='{axis_y + 17}' font-size='10' text-anchor='middle'>{format_percent(t, signed=bool(t))}</text>")
    parts.append(f"<text x='{zero}' y='{axis_y + 33}' font-size='11' text-anchor='middle'>How far the North is better (+) or worse (−) "
                 "than the Greater South East,</text>"
                 f"<text x='{zero}' y='{axis_y + 47}' font-size='11' text-anchor='middle'>as % of the Greater South East's value; "
                 f"bars beyond ±{CLIP:.0%} are clipped (arrow) and labelled</text></svg>")
    return "".join(parts)


def gap_sparkline(series: pd.DataFrame, width: int = 130, height: int = 30) -> str:
    """The signed gap over time (above the zero line = North better), with the zero line."""
    s = series.dropna(subset=["relative_gap"])
    if len(s) < 2:
        return "<span class='muted'>one period</span>"
    values = [v if not pd.isna(v) else r for v, r in zip(s["better_gap"], s["relative_gap"])]
    lo, hi = min(values + [0.0]), max(values + [0.0])
    span = (hi - lo) or 1.0
    n = len(values)

    def y(v):
        return height - 3 - (v - lo) / span * (height - 6)

    pts = " ".join(f"{3 + i * (width - 6) / (n - 1):.1f},{y(v):.1f}" for i, v in enumerate(values))
    first, last = s.iloc[0], s.iloc[-1]
    title = f"{first.period_label}: {format_percent(first.relative_gap)} → {last.period_label}: {format_percent(last.relative_gap)} (North vs GSE)"
    colour = VERDICT_COLOURS.get(last.verdict, "#555")
    return (f"<svg class='spark' role='img' width='{width}' height='{height}' viewBox='0 0 {width} {height}'><title>{html.escape(title)}</title>"
            f"<line x1='0' y1='{y(0):.1f}' x2='{width}' y2='{y(0):.1f}' stroke='#bbb' stroke-dasharray='2 2'/>"
            f"<polyline points='{pts}' fill='none' stroke='{colour}' stroke-width='1.6'/></svg>")


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1180px;margin:1.5em auto;padding:0 1em;color:#222;font-size:14px}
h2{margin-top:1.6em;border-bottom:2px solid #1b4f72;padding-bottom:.2em}.muted{color:#888;font-size:12px}
table.gaps{border-collapse:collapse;width:100%;table-layout:fixed}table.gaps th{text-align:left;font-size:12px;border-bottom:2px solid #999;padding:4px 6px;vertical-align:bottom}
table.gaps td{border-bottom:1px solid #e3e3e3;padding:3px 6px;overflow-wrap:break-word}td.num{text-align:right;white-space:nowrap}th.num{text-align:right}
.better{color:#1a9850;font-weight:600}.worse{color:#d73027;font-weight:600}.method{font-size:12px;color:#333;background:#f6f6f6;padding:.6em 1em;border-left:3px solid #1b4f72}
svg{max-width:100%;height:auto}
"""


def render_page(con: duckdb.DuckDBPyConnection) -> str:
    """The whole North-vs-Greater-South-East page."""
    data = load(con)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='generator' content='{MARKER}'>"
             "<meta name='viewport' content='width=device-width'>"
             f"<title>The North against the Greater South East</title><style>{CSS}</style></head><body>",
             "<h1>The North against the Greater South East</h1>",
             "<p>The North is the North East, North West and Yorkshire and The Humber; the Greater South East is London, the South "
             "East and the East of England. Each measure is compared for the latest period both groups have; "
             "group values are the publisher's where printed, otherwise recomputed from counts or population-weighted (stated per row).</p>"]
    if data.empty:
        parts.append("<p class='muted'>mart_north_south__gaps has no rows: build the warehouse first.</p></body></html>")
        return "".join(parts)
    latest = data[data["is_latest"]].copy()
    parts.append("<h2>Latest gap on every measure</h2>")
    parts.append(diverging_svg(latest))
    series = {k: g for k, g in data.groupby(["indicator_id", "sex", "age"], sort=False)}
    for domain, rows in latest.groupby("domain", sort=False):
        parts.append(f"<h2>{html.escape(DOMAIN_TITLES.get(domain, str(domain).capitalize()))}</h2>")
        parts.append("<table class='gaps'><colgroup><col><col style='width:78px'><col style='width:96px'><col style='width:104px'>"
                     "<col style='width:90px'><col style='width:84px'><col style='width:112px'><col style='width:170px'></colgroup><thead><tr>"
                     "<th>Measure</th><th>Period</th><th class='num'>The North</th><th class='num'>Greater South East</th>"
                     "<th class='num'>England</th><th class='num'>North vs GSE</th><th>Better is</th><th>Gap over time</th></tr></thead><tbody>")
        for row in rows.itertuples():
            better = {"high_is_good": "higher", "low_is_good": "lower"}.get(row.polarity, "no judgement")
            cls = "better" if row.verdict == "North better" else "worse" if row.verdict == "North worse" else ""
            trend = f"<br><span class='muted'>gap {html.escape(str(row.gap_trend))} since {html.escape(str(row.previous_period_label))}</span>" \
                if isinstance(row.gap_trend, str) and isinstance(row.previous_period_label, str) else ""
            label = row_label(row).rsplit(", ", 1)[0]
            parts.append(
                f"<tr><td>{html.escape(label)}<br><span class='muted'>{html.escape(str(row.unit))}</span></td>"
                f"<td style='white-space:nowrap'>{html.escape(str(row.period_label))}</td>"
                f"<td class='num'>{format_value(row.north_value, row.unit, short=True)}</td>"
                f"<td class='num'>{format_value(row.gse_value, row.unit, short=True)}</td>"
                f"<td class='num'>{format_value(row.england_value, row.unit, short=True)}</td>"
                f"<td class='num {cls}'>{format_percent(row.relative_gap)}</td>"
                f"<td>{better}<br><span class='{cls}'>{html.escape(str(row.verdict))}</span></td>"
                f"<td>{gap_sparkline(series[(row.indicator_id, row.sex, row.age)])}{trend}</td></tr>")
        parts.append("</tbody></table>")
        if domain == "funding":
            for row in rows.itertuples():
                if isinstance(row.projection_method, str):
                    closing = []
                    if not pd.isna(row.projected_closing_year):
                        closing.append(f"compound growth rates: {int(row.projected_closing_year)}")
                    if not pd.isna(row.linear_closing_year):
                        closing.append(f"linear trend in the absolute gap: {int(row.linear_closing_year)}")
                    when = "; ".join(closing) or "never, on either method"
                    parts.append(f"<p class='method'><b>{html.escape(row.label)}: when would the gap close?</b> {html.escape(when)}.<br>"
                                 f"<b>Methods:</b> {html.escape(row.projection_method)}</p>")
    parts.append(f"<p class='muted'>Source: mart_north_south__gaps in the observatory warehouse (generated {generated}); every value "
                 "traces to its publisher's file through core_indicators__values and core_provenance__files. Contains public sector "
                 "information licensed under the Open Government Licence v3.0.</p></body></html>")
    return "".join(parts)


def write_page(con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(con), encoding="utf-8")
    return out
