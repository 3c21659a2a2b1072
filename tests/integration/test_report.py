"""The observatory report: self-contained HTML; a section whose data is missing says so instead of failing."""

import html
import re

import duckdb
from typer.testing import CliRunner

from pipelines.cli import app
from warehouse.outputs.report import SECTION_TITLES, write_report


def test_report_renders_every_section_or_says_what_is_missing(built_warehouse, tmp_path):
    out = tmp_path / "report.html"
    sections = write_report(built_warehouse, out, tmp_path / "png")
    assert [s.title for s in sections] == list(SECTION_TITLES.values())
    text = out.read_text()
    assert text.startswith("<!doctype html>")
    assert "<script" not in text and "src='http" not in text  # self-contained: images are inline data URIs
    for s in sections:
        title = html.escape(s.title)
        assert title in text
        assert (s.missing is None) != ("Not shown:" in text.split(title, 1)[1].split("<h2>", 1)[0])


def test_a_missing_indicator_is_reported_not_raised(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    sections = write_report(empty, tmp_path / "r.html")
    assert all(s.missing for s in sections)
    assert "Not shown:" in (tmp_path / "r.html").read_text()


def test_cli_report(built_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(built_warehouse))
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.html").exists()


def test_report_reads_right(built_warehouse, tmp_path):
    """Source lines whole, intro promises only what the tables hold, formatted numbers, human headers,
    a North-vs-South chart coloured by better/worse with no squashed scale."""
    out = tmp_path / "report.html"
    sections = {s.title: s for s in write_report(built_warehouse, out)}
    text = out.read_text()
    funding = sections[SECTION_TITLES["funding_per_head"]]
    if funding.missing is None:
        types = set(funding.table["funding_type"])
        for kind in ("infrastructure", "studentship"):
            assert (kind in funding.intro) == (kind in types), "the intro must promise only funding types the table lists"
        assert funding.source.endswith(".") and "UK Health Research Analysis" in funding.source  # never cut mid-word
    gaps = sections[SECTION_TITLES["north_south_gaps"]]
    if gaps.missing is None:
        assert "<svg class='diverging'" in text and "North worse" in text
        assert set(gaps.table["verdict"]) <= {"North better", "North worse", "no judgement", "equal"}
    for raw in ("per_head_gbp", "north_value", "gse_value", "relative_gap", "funding_type</th>"):
        assert f">{raw}<" not in text, f"raw column name {raw} in a table header"
    assert not re.search(r"<td[^>]*>-?\d+\.\d{4,}</td>", text), "unformatted float in a table"


def test_each_chart_is_drawn_once_to_the_pixels_its_layout_gives(built_warehouse, tmp_path, monkeypatch):
    """``savefig`` draws a figure twice while a layout engine (even tight_layout's placeholder) is attached; the report
    detaches it once the layout is fixed, so each chart is drawn once, and the PNG is byte-identical to the one drawn
    twice."""
    import io

    from matplotlib.figure import Figure

    from warehouse.outputs import report

    con = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        twice = [s.figure for s in report.build_sections(con) if s.figure is not None]
    finally:
        con.close()
    assert twice
    references = []
    for fig in twice:  # laid out as the report lays it out, the engine left attached: drawn twice
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, metadata={"Software": report.MARKER})
        references.append(buffer.getvalue())
    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: draws.append(self) or original(self, renderer))
    sections = write_report(built_warehouse, tmp_path / "r.html", tmp_path / "png")
    once = [s.pngs["figure"] for s in sections if "figure" in s.pngs]
    assert once == references
    assert len(draws) == len(references)
