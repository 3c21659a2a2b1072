"""The observatory report: one self-contained HTML file of charts and tables drawn from the warehouse.

Each section is a function that queries the published warehouse and returns a :class:`Section`
holding a chart (a matplotlib figure, embedded as a PNG) or a table, and the source line. When
its data is missing (an indicator not landed, a mart not built) the section says what is missing
instead of failing, so a partial warehouse still gives a readable report. Charts are sorted,
labelled with units, and name their source and vintage.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # no display: render to PNG
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from warehouse.engine.loader import table_exists
from warehouse.engine.output_guard import MARKER, write_bytes_atomic, write_text_atomic  # noqa: E402
from warehouse.engine.queries import query  # noqa: E402
from warehouse.outputs.formatting import format_percent, format_value, header  # noqa: E402

NORTH_COLOUR, OTHER_COLOUR, ENGLAND_COLOUR = "#1b6f8a", "#b8c4cc", "#c0392b"
SEX_COLOURS = {"female": "#7b3294", "male": "#008837"}
YORKSHIRE = "E12000003"
BASELINE_PERIOD = "2015 - 17"


@dataclass
class Section:
    title: str
    intro: str
    figure: plt.Figure | None = None
    svg: str | None = None  # an inline SVG chart (crisp, no image decoding), used instead of a figure
    table: pd.DataFrame | None = None
    formats: dict[str, Callable] = field(default_factory=dict)  # column -> formatter for the table
    hide: tuple[str, ...] = ()  # columns formatters read but the table does not show
    source: str = ""
    missing: str | None = None
    pngs: dict[str, bytes] = field(default_factory=dict)


class Missing(Exception):
    """The data a section needs is not in the warehouse; the message says what."""


def _query(con: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    try:
        return query(con, name, **params)
    except duckdb.CatalogException as err:
        raise Missing(f"the warehouse lacks what this chart needs ({str(err).splitlines()[0]})") from None


def _source_note(con, indicator_id: str) -> str:
    try:
        notes = query(con, "report_source_note", indicator_id=indicator_id)
    except duckdb.CatalogException:
        return ""
    return "; ".join(f"{r.publisher}, {r.title} (file {r.file_name}, retrieved {r.retrieved})" for r in notes.itertuples())


def _latest_period(con, indicator_id: str) -> str:
    latest = _query(con, "report_latest_period", indicator_id=indicator_id)
    if latest.empty:
        raise Missing(f"indicator {indicator_id} has no values in the warehouse")
    return str(latest["period_label"].iloc[0])


# --- sections -----------------------------------------------------------------------------------

SECTION_TITLES = {
    "hle_yorkshire": "Healthy life expectancy in Yorkshire and the Humber",
    "productivity_by_region": "Productivity by region",
    "funding_per_head": "Research funding per head by combined authority",
    "north_south_gaps": "The North against the Greater South East",
    "hle_trend_northern_cas": "Healthy life expectancy in the North's combined authorities",
    "reconciliation": "Do the published figures still stand?",
}


def hle_yorkshire(con) -> Section:
    """Seed figure 1: healthy life expectancy by local authority in Yorkshire and the Humber, by sex."""
    section = Section(SECTION_TITLES["hle_yorkshire"],
                      "Healthy life expectancy at birth (years) for each local authority with a published value, by sex: "
                      f"the latest period against {BASELINE_PERIOD}, with England's latest value as a line.")
    latest = _latest_period(con, "90362")
    data = _query(con, "report_hle_by_lad", latest_period=latest, baseline_period=BASELINE_PERIOD, region=YORKSHIRE)
    if data.empty:
        raise Missing("no healthy life expectancy values for Yorkshire and the Humber LADs")
    england = _query(con, "report_indicator_by_area_type", indicator_id="90362", period_label=latest, area_type="country")
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.36 * data["area_name"].nunique() + 2.2), sharex=True)
    for ax, sex in zip(axes, ("female", "male")):
        rows = data[data["sex"] == sex]
        now = rows[rows["period_label"] == latest].sort_values("value")
        before = rows[rows["period_label"] == BASELINE_PERIOD].set_index("area_name").reindex(now["area_name"])
        y = range(len(now))
        ax.barh([i + 0.2 for i in y], now["value"], height=0.4, color=SEX_COLOURS[sex], label=latest)
        ax.barh([i - 0.2 for i in y], before["value"], height=0.4, color=OTHER_COLOUR, label=BASELINE_PERIOD)
        ax.set_yticks(list(y), now["area_name"], fontsize=8)
        eng = england[(england["area_code"] == "E92000001") & (england["sex"] == sex)]
        if not eng.empty:
            ax.axvline(eng["value"].iloc[0], color=ENGLAND_COLOUR, linestyle="--", linewidth=1, label=f"England {latest}")
        ax.set_title(sex.capitalize())
        ax.set_xlabel("Healthy life expectancy at birth (years)")
        ax.set_xlim(left=min(45, data["value"].min() - 2))
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Healthy life expectancy by local authority, Yorkshire and the Humber ({latest} vs {BASELINE_PERIOD})")
    section.figure, section.source = fig, _source_note(con, "90362")
    return section


def productivity_by_region(con) -> Section:
    """Seed figure 4: GVA per hour worked by region, the North's regions highlighted."""
    section = Section(SECTION_TITLES["productivity_by_region"], "Gross value added per hour worked (£, current prices) by English region, latest year, sorted.")
    indicator = "gva_per_hour_worked_gbp"
    latest = _latest_period(con, indicator)
    data = _query(con, "report_indicator_by_area_type", indicator_id=indicator, period_label=latest, area_type="region")
    data = data[data["sex"] == "persons"].drop_duplicates("area_code").sort_values("value")
    if data.empty:
        raise Missing(f"no regional values of {indicator}")
    north = {"North East", "North West", "Yorkshire and The Humber"}
    colours = [ENGLAND_COLOUR if c == "E92000001" else NORTH_COLOUR if n in north else OTHER_COLOUR
               for c, n in zip(data["area_code"], data["area_name"])]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    ax.barh(data["area_name"], data["value"], color=colours)
    for i, v in enumerate(data["value"]):
        ax.text(v + 0.3, i, f"£{v:.2f}", va="center", fontsize=8)
    ax.set_xlabel("GVA per hour worked (£)")
    ax.set_title(f"GVA per hour worked by region, {latest} (North in blue, England in red)")
    section.figure, section.source = fig, _source_note(con, indicator)
    return section


def funding_per_head(con) -> Section:
    """Research funding per head by combined authority (and London), as computed from totals ÷ population."""
    section = Section(SECTION_TITLES["funding_per_head"],
                      "Health research funding per person (£) by combined authority (London as its region), computed from totals and the population of the same year and footprint.")
    if not table_exists(con, "mart_funding__per_head"):
        raise Missing("mart_funding__per_head is not in the warehouse")
    data = query(con, "report_funding_per_head")
    if data.empty:
        raise Missing("mart_funding__per_head has no rows for combined authorities")
    all_rows = data.copy()
    all_rows["label"] = all_rows["label"].str.replace(r" \((direct_award|infrastructure|studentship)\)$", "", regex=True)
    types = sorted(set(all_rows["funding_type"]))
    if (data["funding_type"] == "direct_award").any():  # the NHSA's table 1: direct awards only
        data = all_rows[all_rows["funding_type"] == "direct_award"].copy()
        others = [t.replace("_", " ") for t in types if t != "direct_award"]
        section.intro += (" The chart shows direct awards (specific projects) only"
                          + (f"; the table also lists {' and '.join(others)} funding where the source publishes it." if others else "."))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(data) + 1.8))
    data = data.sort_values("per_head_gbp")
    colours = [NORTH_COLOUR if n else OTHER_COLOUR for n in data["in_north"]]
    ax.barh(data["label"], data["per_head_gbp"], color=colours)
    for i, v in enumerate(data["per_head_gbp"]):
        ax.text(v * 1.01 + 1, i, f"£{v:,.2f}", va="center", fontsize=8)
    ax.set_xlabel("Funding per head (£)")
    ax.set_title("Research funding per head (North in blue)")
    section.figure = fig
    details = all_rows["basis_detail"] if "basis_detail" in all_rows else all_rows["basis"]
    # One line per source document (the per-row line numbers and footprints are in mart_funding__per_head.basis_detail).
    documents = sorted({str(d).split(" (sha256", 1)[0] for d in details})
    section.source = "; ".join(documents) + ". Line references and footprints for each row: mart_funding__per_head.basis_detail."
    table = all_rows.assign(funding_type=all_rows["funding_type"].str.replace("_", " "),
                            basis=all_rows["basis"].str.replace("_", " "))
    section.table = table[["label", "year", "funding_type", "total_gbp", "population", "per_head_gbp", "basis"]].sort_values(
        ["funding_type", "per_head_gbp"], ascending=[True, False]).rename(columns={"label": "area_name"})
    section.formats = {"total_gbp": lambda v: format_value(v, "GBP"), "population": lambda v: format_value(v, "persons"),
                       "per_head_gbp": lambda v: format_value(v, "GBP"), "year": lambda v: f"{int(v)}"}
    return section


def north_south_gaps(con) -> Section:
    """The North against the Greater South East, indicator by indicator."""
    section = Section(SECTION_TITLES["north_south_gaps"],
                      "For each measure with values for both groups, the latest period: bars to the right mean the North is better, "
                      "to the left worse (better is higher or lower depending on the measure); grey where a measure has no better "
                      "direction. The table gives the values and the relative gap (North ÷ Greater South East − 1).")
    if not table_exists(con, "mart_north_south__gaps"):
        raise Missing("mart_north_south__gaps is not in the warehouse")
    from warehouse.outputs import north_south as ns

    every = ns.load(con)
    latest = every[every["is_latest"]]
    if latest.empty:
        raise Missing("mart_north_south__gaps has no rows")
    section.svg = ns.diverging_svg(latest)
    table = latest.assign(label=[ns.row_label(r) for r in latest.itertuples()],
                          better=latest["polarity"].map({"high_is_good": "higher", "low_is_good": "lower"}).fillna("no judgement"))
    section.table = table[["label", "north_value", "gse_value", "england_value", "relative_gap", "unit", "better", "verdict"]]
    section.formats = _unit_formats(section.table, ["north_value", "gse_value", "england_value"])
    section.formats["relative_gap"] = format_percent
    section.source = ("mart_north_south__gaps: group values are the publisher's where printed, otherwise recomputed from counts "
                      "or population-weighted; the North's own page (observatory outputs) shows each gap over time.")
    return section


def _unit_formats(frame: pd.DataFrame, columns: list[str]) -> dict[str, Callable]:
    """Formatters that print each value with the unit in the same row (the table keeps a 'unit' column)."""
    return {c: ("unit", lambda v, unit: format_value(v, unit, short=True)) for c in columns}


def hle_trend_northern_cas(con) -> Section:
    """Small multiples: healthy life expectancy over time in the North's combined authorities."""
    section = Section(SECTION_TITLES["hle_trend_northern_cas"],
                      "Healthy life expectancy at birth (years) by period, female and male, for each northern combined authority (on today's footprint).")
    data = _query(con, "report_hle_trend_cas")
    if data.empty:
        raise Missing("no healthy life expectancy values for combined authorities")
    areas = sorted(data["area_name"].unique())
    cols = 3
    rows = -(-len(areas) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3 * rows), sharey=True, squeeze=False)
    for ax, area in zip(axes.flat, areas):
        for sex, colour in SEX_COLOURS.items():
            series = data[(data["area_name"] == area) & (data["sex"] == sex)].sort_values("period_end")
            ax.plot(series["period_label"], series["value"], marker="o", color=colour, label=sex)
        ax.set_title(area.replace(" Combined Authority", " CA"), fontsize=9)
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.set_ylabel("years")
    for ax in list(axes.flat)[len(areas):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    methods = ", ".join(sorted(data["method"].unique()))
    fig.suptitle(f"Healthy life expectancy, northern combined authorities (method: {methods})")
    section.figure, section.source = fig, _source_note(con, "90362")
    return section


def reconciliation(con) -> Section:
    """Published figures checked against the warehouse."""
    section = Section(SECTION_TITLES["reconciliation"],
                      "Numeric claims found in the ingested reports, matched to the warehouse figure that should reproduce them.")
    if not table_exists(con, "mart_reconciliation__claims") or not table_exists(con, "core_reports__documents"):
        raise Missing("no report documents have been ingested yet (ingest reports with `observatory ingest`)")
    data = _query(con, "report_reconciliation")
    if data.empty:
        raise Missing("no claims have been reconciled yet (ingest reports with `observatory ingest`)")
    section.table = data
    section.formats = {c: ("unit", lambda v, unit: format_value(v, unit)) for c in ("warehouse_value",) if c in data}
    section.hide = ("unit",) if section.formats else ()  # the value prints with its unit
    return section


SECTIONS: list[Callable] = [hle_yorkshire, productivity_by_region, funding_per_head, north_south_gaps, hle_trend_northern_cas, reconciliation]




def build_sections(con: duckdb.DuckDBPyConnection) -> list[Section]:
    """Every section; one whose data is missing becomes a note saying what is missing."""
    sections = []
    for make in SECTIONS:
        try:
            sections.append(make(con))
        except Missing as missing:
            sections.append(Section(SECTION_TITLES[make.__name__], "", missing=str(missing)))
    return sections


def _png(fig: plt.Figure) -> bytes:
    """The figure laid out (``tight_layout``) and drawn once, as PNG. ``tight_layout`` leaves a placeholder layout
    engine on the figure, and ``savefig`` draws a figure with any engine twice (once without rendering, to lay it
    out); the layout is fixed by then, so the engine is detached and the figure drawn once, to the same pixels."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.set_layout_engine(None)
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": MARKER})
    plt.close(fig)
    return buffer.getvalue()


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table_html(frame: pd.DataFrame, formats: dict | None = None, hide: tuple[str, ...] = ()) -> str:
    """A table with human headers and each column formatted (a formatter may be ``(other_column, fn(value, other))``,
    e.g. a value printed with the unit in the same row). Identifier columns (``*_id``, ``*_sha256``) are left out
    when the table has other columns; a ``unit`` column used by a formatter is shown once, after the values."""
    formats = formats or {}
    links = {c.removesuffix("_link") for c in frame.columns if c.endswith("_link")}  # column X_link: X links there
    hidden = {c for c in frame.columns if c.endswith(("_id", "_sha256", "_link"))} | set(hide)
    columns = [c for c in frame.columns if c not in hidden] or list(frame.columns)
    numeric = {c for c in columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}
    # a column of long text (sentences) gets room to read, instead of a narrow column of many short lines
    long_text = {c for c in columns if c not in numeric and frame[c].astype(str).str.len().mean() > 60}
    classes = {c: " ".join(k for k, on in (("num", c in numeric), ("long", c in long_text)) if on) for c in columns}
    head = "".join(f"<th class='{classes[c]}'>{html.escape(header(c))}</th>" for c in columns)
    body = []
    for record in frame.to_dict("records"):
        cells = []
        for c in columns:
            fmt = formats.get(c)
            if isinstance(fmt, tuple):
                text = fmt[1](record[c], record.get(fmt[0]))
            elif fmt is not None:
                text = fmt(record[c])
            else:
                text = _cell(record[c])
            shown = html.escape(text)
            if c in links and isinstance(record.get(f"{c}_link"), str):
                shown = f"<a href='{html.escape(record[c + '_link'], quote=True)}'>{shown}</a>"
            cells.append(f"<td class='{classes[c]}'>{shown}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='data'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(sections: list[Section], warehouse: Path) -> str:
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='generator' content='northern-observatory-output'><title>Northern Health &amp; Wealth Observatory report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "img{max-width:100%}.chart svg{max-width:100%;height:auto}table.data{border-collapse:collapse;font-size:13px}"
        "table.data td,table.data th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
        "table.data th{border-bottom:2px solid #999}table.data .num{text-align:right;white-space:nowrap}"
        "table.data td.long,table.data th.long{width:28%}table.data td{overflow-wrap:break-word}table.data td a{word-break:break-all}"
        ".source{overflow-wrap:break-word}"
        ".missing{background:#fff4e5;border-left:4px solid #e67e22;padding:.6em 1em}.source{color:#555;font-size:12px}</style></head><body>",
        "<h1>Northern Health &amp; Wealth Observatory</h1>",
        f"<p>Generated {generated} from <code>{html.escape(warehouse.name)}</code>. Contains public sector information licensed under the Open Government Licence v3.0.</p>",
    ]
    for s in sections:
        parts.append(f"<section><h2>{html.escape(s.title)}</h2>")
        if s.missing:
            parts.append(f"<p class='missing'>Not shown: {html.escape(s.missing)}.</p></section>")
            continue
        parts.append(f"<p>{html.escape(s.intro)}</p>")
        if s.figure is not None:
            png = _png(s.figure)
            s.pngs["figure"] = png
            parts.append(f"<img alt='{html.escape(s.title)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
        if s.svg is not None:
            parts.append(f"<div class='chart'>{s.svg}</div>")
        if s.table is not None:
            parts.append(_table_html(s.table, s.formats, s.hide))
        if s.source:
            parts.append(f"<p class='source'>Source: {html.escape(s.source)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def png_path(png_dir: Path, i: int, s: Section) -> Path:
    return png_dir / f"{i + 1:02d}_{s.title.lower().replace(' ', '_')[:40]}.png"


def prepare() -> None:
    """Draw a small chart and throw it away: matplotlib loads its fonts and fills its text caches on the first chart
    a process draws. A helper process that will draw the report calls it while it would otherwise wait."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.barh(["North", "South"], [1.0, 2.0], color=[NORTH_COLOUR, OTHER_COLOUR])
    ax.set_title("warm-up")
    ax.set_xlabel("£ per head")
    _png(fig)


def draw(warehouse: Path, out: Path) -> list[tuple[str, str | None]]:
    """:func:`write_report`, answered as each section's (title, what its data lacks): what a helper process sends back."""
    return [(s.title, s.missing) for s in write_report(warehouse, out)]


def write_report(warehouse: Path, out: Path, png_dir: Path | None = None) -> list[Section]:
    """Write the HTML report for the published ``warehouse`` to ``out`` (and each chart as PNG to ``png_dir``)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sections = build_sections(con)
    finally:
        con.close()
    write_text_atomic(out, render_html(sections, warehouse))  # never half a file; the caller checked the target
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(sections):
            if "figure" in s.pngs:
                write_bytes_atomic(png_path(png_dir, i, s), s.pngs["figure"])
    return sections
