"""Table extraction on real PDFs: the corpus (hand-transcribed truth), layout kinds on the development set's look part
(ICDAR 2013 truth), quality flags, extraction specs."""

from pathlib import Path

import pandas as pd
import pytest

from sources.inputs import SourceFormatError
from sources.reports import frames, pdf_tables, specs
from sources.reports.accuracy import dev_part, load_truth, normalise, score, score_page, truth_sets
from sources.reports.text_tables import pipe_tables
from tests.fixtures.reports.specs.tables import TABLES as SPEC_TABLES
from tests.fixtures.reports.specs.tables import registered
from warehouse.engine.contracts import validate
from warehouse.engine.registry import REGISTRY

FIXTURES = Path(__file__).parents[1] / "fixtures" / "reports"
SPECS = FIXTURES / "specs"
PDFS = FIXTURES / "pdfs"
TRUTH = load_truth(FIXTURES / "truth")


def _grids_on(path: Path, page: int, password: str | None = None) -> list[list[list[str]]]:
    result = pdf_tables.extract_pages(path, pages=[page], password=password)[0]
    return [t.grid() for t in result.tables]


@pytest.mark.parametrize("truth", TRUTH, ids=[t.id for t in TRUTH])
def test_truth_tables_are_reproduced(truth):
    accuracy = score(truth.rows, _grids_on(PDFS / truth.file, truth.page))
    assert accuracy == 1.0, f"{truth.id}: {accuracy:.1%} of {truth.cells} cells"


def test_scoring_ignores_case_space_and_thousands_separators():
    assert normalise(" 98 452 ") == normalise("98,452") == "98452"
    assert score([["a", "1"]], [[["x", "y"], ["A", "1"]]]) == 1.0
    assert score([["a", "1"]], [[["a", "2"]]]) == 0.5


def test_rotated_page_reads_like_the_upright_one():
    upright = pdf_tables.extract_pages(PDFS / "nics-background-checks-2015-11.pdf")[0].tables
    rotated = pdf_tables.extract_pages(PDFS / "nics-background-checks-2015-11-rotated.pdf")[0].tables
    assert len(upright) == len(rotated) == 1
    assert rotated[0].rotation == 90 and upright[0].rotation == 0
    assert rotated[0].grid() == upright[0].grid()
    grid = upright[0].grid()
    # rules only every five rows: each state is still its own row
    states = [row[0] for row in grid]
    assert "Alabama" in states and "Alaska" in states and states.index("Alaska") == states.index("Alabama") + 1
    # bounding boxes come back in the rotated page's own frame (pdfplumber's: 612 wide, 1008 tall)
    assert all(0 <= c.x0 <= c.x1 <= 612.5 and 0 <= c.top <= c.bottom <= 1008.5 for c in rotated[0].cells if c.text)


def test_sideways_table_on_an_upright_page():
    table = pdf_tables.extract_pages(PDFS / "anticlockwise_table_1.pdf")[0].tables[0]
    assert table.rotation == 270
    assert ["Kerala", "5738", "6633", "8864", "8297", "245", "2161", "3195", "1645", "2391"] in table.grid()


def test_table_beside_two_column_prose_is_not_widened():
    tables = pdf_tables.extract_pages(PDFS / "us-025.pdf", pages=[4])[0].tables
    table = max(tables, key=lambda t: t.n_rows)
    assert table.n_cols == 7
    assert not any("disparities" in c.text for c in table.cells)


def test_multi_line_cells_in_ruled_boxes_stay_one_cell():
    table = pdf_tables.extract_pages(PDFS / "us-009.pdf")[0].tables[0]
    header = table.grid()[0]
    assert header[1] == "Total Costs\nAll Funds"
    assert header[0] == "Cost Category"  # row labels printed outside the ruled box are part of the table


def test_spanning_section_rows_go_to_the_first_column():
    table = pdf_tables.extract_pages(PDFS / "spanning_cells.pdf")[0].tables[0]
    assert table.grid()[0] == ["Improved operation scenario", "", "", "", "", ""]


def test_table_continuing_over_pages_is_merged():
    results = pdf_tables.extract_pages(PDFS / "WARN-Report-for-7-1-2015-to-03-25-2016.pdf", pages=[2, 3, 4])
    per_page = sum(r.tables[0].n_rows for r in results)
    merged = pdf_tables.merge_continuations(results)
    assert len(merged) == 1
    table = merged[0]
    assert (table.page, table.last_page) == (2, 4)
    assert {c.page for c in table.cells} == {2, 3, 4}
    assert per_page - 2 * table.header_rows <= table.n_rows <= per_page


def test_pages_without_text_or_tables_are_skipped_early():
    assert pdf_tables.extract_pages(PDFS / "image.pdf")[0].skipped == "no text layer"
    prose = pdf_tables.extract_pages(PDFS / "password-example.pdf", password="test")
    assert not any(r.tables for r in prose)
    assert [r.page for r in prose if r.skipped == "no tabular text"] == [2, 3, 4]  # not even parsed by pdfplumber


def test_markdown_pipe_table():
    text = "Intro\n\n| Area | Per head |\n|---|---|\n| Tees Valley | £11.34 |\n| London | £102.37 |\n\nEnd\n"
    (table,) = pipe_tables(text)
    assert table.method == "markdown" and table.header_rows == 1
    assert table.grid() == [["Area", "Per head"], ["Tees Valley", "£11.34"], ["London", "£102.37"]]
    assert [c.page for c in table.cells if c.row == 1] == [5, 5]  # page = line number for text


@pytest.fixture()
def corpus_specs():
    """The four test-corpus specs (tests/fixtures/reports/specs), their tables registered for the test only."""
    with registered():
        yield {s.name: s for s in specs.all_specs(SPECS)}


def test_production_has_no_test_corpus_tables_and_ships_a_real_example():
    assert not {t.name for t in SPEC_TABLES} & set(REGISTRY)
    (example,) = specs.all_specs()
    assert example.name == "nhs_spend_over_25k" and example.target in REGISTRY
    frame = validate(REGISTRY[example.target], specs.apply_spec(example, PDFS / "BD-CCG-invoices-over-30k-April-2014-March-2015.pdf", "a" * 64))
    page1 = frame[frame["page"] == 1]
    assert len(page1) == 31  # the independent truth's 31 invoice lines of page 1
    first = page1.iloc[0]
    assert (first["transaction_number"], first["amount_gbp"], first["payment_date"]) == ("3252892", 33021.0, "30/04/2014")
    assert set(frame["page"]) == set(range(1, 9)) and "AP Amount (£)" not in set(frame["amount_gbp"].astype(str))


def test_specs_turn_report_tables_into_typed_tables(corpus_specs):
    loaded = corpus_specs
    assert set(loaded) >= {"health_outlay", "salmonellosis_origin", "heart_stroke_deaths", "nnmb_coverage"}
    for s in loaded.values():
        assert s.target in REGISTRY, f"{s.name} targets an undeclared table"

    outlay = validate(REGISTRY["core_reports__public_health_outlay"],
                      specs.apply_spec(loaded["health_outlay"], PDFS / "health.pdf", "a" * 64))
    assert len(outlay) == 23
    andhra = outlay.set_index("state").loc["Andhra Pradesh"]
    assert andhra["revenue_medical_public_health"] == 47824589 and andhra["total"] == 73980669

    origin = validate(REGISTRY["core_reports__salmonellosis_origin"],
                      specs.apply_spec(loaded["salmonellosis_origin"], PDFS / "eu-016.pdf", "b" * 64))
    assert len(origin) == 30
    uk = origin.set_index("country").loc["United Kingdom"]
    assert (uk["domestic_pct"], uk["imported_pct"], uk["unknown_pct"], uk["total_cases"]) == (24.0, 21.4, 54.6, 13802)
    assert str(origin["total_cases"].dtype) == "Int64"

    deaths = validate(REGISTRY["core_reports__heart_stroke_deaths"],
                      specs.apply_spec(loaded["heart_stroke_deaths"], PDFS / "us-025.pdf", "e" * 64))
    assert len(deaths) == 51  # 50 states and DC; the footnotes under the table are not rows
    utah = deaths.set_index("state").loc["Utah"]
    assert (utah["chd_deaths"], utah["chd_rate"], utah["stroke_deaths"], utah["stroke_rate_ci"]) == (1462, 77.5, 674, "(33.5–38.9)")

    coverage = validate(REGISTRY["core_reports__nnmb_survey_coverage"],
                        specs.apply_spec(loaded["nnmb_coverage"], PDFS / "anticlockwise_table_1.pdf", "f" * 64))
    assert list(coverage["state"])[-1] == "Pooled" and len(coverage) == 11
    madhya = coverage.set_index("state").loc["Madhya Pradesh"]
    assert pd.isna(madhya["nutrition_1975_79"]) and madhya["nutrition_2011_12"] == 7942  # "*": not available


def test_spec_on_the_wrong_table_fails_loudly(tmp_path, corpus_specs):
    spec_text = (SPECS / "salmonellosis_origin.toml").read_text().replace("columns = 5", "columns = 6")
    (tmp_path / "bad.toml").write_text(spec_text)
    (bad,) = specs.all_specs(tmp_path)
    with pytest.raises(SourceFormatError, match="has 5 columns, the spec expects 6"):
        specs.apply_spec(bad, PDFS / "eu-016.pdf", "c" * 64)


def test_spec_value_that_is_not_a_number_is_reported_not_nulled(corpus_specs):
    s = corpus_specs["salmonellosis_origin"]
    frame = specs.apply_spec(s, PDFS / "eu-016.pdf", "d" * 64)
    frame.loc[frame.index[0], "total_cases"] = "n.k."
    from warehouse.engine.contracts import ContractViolation

    with pytest.raises(ContractViolation, match="total_cases"):
        validate(REGISTRY["core_reports__salmonellosis_origin"], pd.DataFrame(frame))


# --- layout kinds on pages of the development set's look part (tests/fixtures/reports/dev) -------

DEV = FIXTURES / "dev"
LOOK = {t.id: t for t in truth_sets(FIXTURES)["dev-look"]}


def _dev_score(table_id: str):
    t = LOOK[table_id]
    tables = pdf_tables.extract_pages(DEV / "pdfs" / t.file, pages=[t.page])[0].tables
    return score_page(t.rows, [x.grid() for x in tables]), tables


def test_dev_split_is_fixed_and_disjoint():
    sets = truth_sets(FIXTURES)
    look = {t.file for t in sets["dev-look"]}
    held = {t.file for t in sets["dev-held-back"]}
    assert not look & held and len(sets["dev-look"]) + len(sets["dev-held-back"]) == 63
    assert dev_part("us-020.pdf") == "look" and dev_part("us-002.pdf") == "held-back"
    assert len(sets["corpus"]) == 16


@pytest.mark.parametrize("table_id, kind, least", [
    ("us-020__p2__t1", "wide table with whitespace channels between column groups is one table", 0.95),
    ("eu-003__p1__t2", "header set justified in ruled cells: columns come from the rows with figures", 1.0),
    ("eu-007__p5__t6", "multi-line cells in a ruled band: a row starts at each row label", 0.9),
    ("us-034__p2__t1", "monospaced (Courier) table: a single space does not part columns", 0.85),
    ("eu-026__p4__t1", "justified prose under a table is not part of it", 1.0),
    ("us-004__p2__t1", "header structure over an unruled body", 0.98),
])
def test_layout_kinds_on_unseen_pages(table_id, kind, least):
    result, tables = _dev_score(table_id)
    assert result.strict >= least, f"{kind}: strict {result.strict:.2f}"


def test_wide_table_is_not_cut_at_its_whitespace_channel():
    _, tables = _dev_score("us-020__p2__t1")
    assert max(t.n_cols for t in tables) == 7


def test_two_column_label_value_table():
    # a ruled two-column table of text with no figure: the pre-scan reads a label and its value as tabular
    result, tables = _dev_score("us-015__p2__t1")
    assert result.strict >= 0.95
    assert tables[0].grid()[4][0] == "Reproducibility"


def test_bullets_are_part_of_their_cell_and_do_not_swallow_lines():
    # a symbol font's bullet box is three lines tall: it keeps its own line; the bullets' whitespace channel
    # makes no column of its own (the marks start the next column's items)
    _, tables = _dev_score("us-015__p2__t1")
    grid = tables[0].grid()
    assert len(grid[0]) == 2
    assert grid[4][1].startswith("• Unstable scores over time when there is no logical reason for variation from")
    assert grid[1][1].count("•") == 4


def test_quality_flags_a_table_that_lost_a_column():
    pages = pdf_tables.extract_pages(PDFS / "BD-CCG-invoices-over-30k-April-2014-March-2015.pdf", pages=[1, 9])
    clean, lost = pages[0].tables[0], pages[1].tables[0]
    assert clean.assess() == (1.0, []) and clean.n_cols == 10
    quality, faults = lost.assess()
    assert lost.n_cols == 9 and "merged columns" in faults  # amount and VAT number run together
    frame, _ = frames.tables_frames("a" * 64, [clean, lost])
    assert frame["quality_flags"].isna().tolist() == [True, False] and frame["quality_flags"].iloc[1] == "merged columns"
    validate(REGISTRY["core_reports__tables"], frame)


def test_stacked_figures_are_flagged_as_merged_rows():
    cells = [pdf_tables.ExtractedCell(1, r, c, text, 0, 0, 1, 1) for r, row in enumerate(
        [["area", "2020", "2021"], ["Leeds", "1.0\n2.0", "3.0\n4.0"], ["York", "5.0", "6.0"]]) for c, text in enumerate(row)]
    table = pdf_tables.ExtractedTable(1, "ruled", 0, cells, header_rows=1)
    assert "merged rows" in table.assess()[1]


def test_multi_line_cells_under_a_shaded_label_column_stay_one_row():
    # rows start at their label; the shaded label column's fill edges rule only that column, so they do not
    # part the wrapped lines of the definition and example cells beside it
    result, tables = _dev_score("us-032__p1__t1")
    grid = tables[0].grid()
    assert len(grid) == 7 and result.strict >= 0.9
    major = next(row for row in grid if row[0] == "Major")
    assert major[1].replace("\n", " ") == ("Emissions of 10 tons per year or more of any one air toxic, or 25 tons "
                                          "per year or more of any combination of air toxics")
    # a ruled cell spanning rows ruled beside it (the shaded label column's fills) holds one block of text:
    # its last line, level with the next label's fill, stays in it
    area = next(row for row in grid if row[0] == "Area")
    assert area[1].split("\n")[-1] == "any combination of air toxics" and result.strict == 1.0


def test_last_column_outside_interior_only_rules_is_kept():
    # us-001 rules only between its columns: the row labels (left of the first rule) and the last column,
    # "Difference / Percent" (right of the last rule), belong to the table
    tables = pdf_tables.extract_pages(PDFS / "us-001.pdf", pages=[1])[0].tables
    grid = max(tables, key=lambda t: t.n_rows).grid()
    assert len(grid[0]) == 11
    row = next(r for r in grid if r[0].startswith("Severe disability") and r[1] == "34,947")
    assert row[-2:] == ["*3,337", "*0.6"]


def test_prose_beside_a_ruled_table_is_not_its_label_column():
    # the running text left of us-038's ruled table runs at its own line pitch: it is not taken in
    result, tables = _dev_score("us-038__p2__t1")
    assert result.strict == 1.0 and tables[0].grid()[0][0] == "Species" and tables[0].n_cols == 2


def test_wrapped_column_headings_are_one_heading_row_over_their_columns():
    # us-020's unruled table: headings wrap over two to five lines, bottom-aligned and wider than the
    # right-aligned figures under them; each is one cell over its own column
    result, tables = _dev_score("us-020__p3__t2")
    head, first = tables[0].grid()[:2]
    assert result.strict == 1.0
    assert head[3].split("\n") == ["Weighted school", "participation rate", "before substitution"]
    assert head[6].split("\n")[0] == "Combined" and first == ["Alberta-CAN", "100", "7", "97", "99", "95", "94"]


def test_hyphen_ending_a_line_is_a_hyphen_in_the_fast_text_layer():
    # pdfium reports a line-ending hyphen as U+0002; the cell reads as pdfminer reads it
    _, tables = _dev_score("us-032__p1__t1")
    cars = next(row[2] for row in tables[0].grid() if row[0] == "On-road")
    assert cars.split("\n") == ["Cars, buses, sport-utility", "vehicles, light- and heavy-", "duty trucks"]


def test_heading_lines_stack_across_shaded_areas_not_across_drawn_rules():
    # health.pdf's headings sit on shaded areas whose sides are no drawn rule: the sub-headings' wrapped lines
    # ("Medical & / Public / Health") are one heading row; the group row above ("Revenue", "Capital") is
    # parted from them by a drawn rule and stays its own
    tables = pdf_tables.extract_pages(PDFS / "health.pdf", pages=[1])[0].tables
    grid = tables[0].grid()
    group = next(i for i, row in enumerate(grid) if row[0] == "States-A")
    assert grid[group][1:4] == ["Revenue", "", "Capital"]
    assert grid[group + 1][1].split("\n") == ["Medical &", "Public", "Health"]
    assert grid[group + 2][0] == "Andhra Pradesh"


def test_shaded_areas_do_not_part_the_lines_of_a_ruled_heading():
    # eu-021's heading cells are two shaded strips, one per line: the strips' sides are no drawn rule
    tables = pdf_tables.extract_pages(PDFS / "eu-021.pdf", pages=[3])[0].tables
    head, first = tables[0].grid()[:2]
    assert head == ["Treatment/Therapy", "", "Suffered\nfrom", "Followed\ntreatment"]
    assert first == ["Allergy problems", "Count", "93", "77"]


def test_unchecked_text_calls_read_the_chars_pypdfium2_checked_calls_read(monkeypatch):
    import pypdfium2.raw as raw

    path = PDFS / "nics-background-checks-2015-11-rotated.pdf"  # a /Rotate page: every branch of pdfium_chars
    unchecked = pdf_tables.extract_pages(path)
    monkeypatch.setattr(pdf_tables, "_text_calls", lambda: {name: getattr(raw, name) for name in pdf_tables._TEXT_CALLS})
    checked = pdf_tables.extract_pages(path)
    assert [(r.chars, [t.grid() for t in r.tables]) for r in unchecked] == [(r.chars, [t.grid() for t in r.tables]) for r in checked]


def test_merging_continuations_leaves_each_pages_tables_as_read():
    results = pdf_tables.extract_pages(PDFS / "WARN-Report-for-7-1-2015-to-03-25-2016.pdf", pages=[2, 3, 4])
    before = [[t.grid() for t in r.tables] for r in results]
    merged = pdf_tables.merge_continuations(results)
    assert [[t.grid() for t in r.tables] for r in results] == before
    assert len(merged[0].grid()) > len(before[0][0])


def test_a_continued_spec_reads_the_pages_ingest_extracted_as_it_reads_them_itself(monkeypatch):
    example = specs.load_spec(specs.SPEC_DIR / "nhs_spend_over_25k.toml")
    path = PDFS / "BD-CCG-invoices-over-30k-April-2014-March-2015.pdf"
    extracted = pdf_tables.extract_pages(path)
    itself = specs.apply_spec(example, path, "a" * 64)
    monkeypatch.setattr(specs, "extract_pages", lambda *a, **k: pytest.fail("the spec read the document again"))
    reused = specs.apply_spec(example, path, "a" * 64, extracted=extracted)
    pd.testing.assert_frame_equal(reused, itself)
    assert reused.attrs == itself.attrs


def _random_intersections(rng, size: int) -> dict:
    """Rule crossings of a random partly ruled grid, as pdfplumber's ``edges_to_intersections`` builds them."""
    from pdfplumber.table import edges_to_intersections

    xs, ys = sorted(rng.sample(range(0, 60), size)), sorted(rng.sample(range(0, 60), size))
    edges = []
    for _ in range(rng.randint(1, 3 * size)):
        x, (a, b) = rng.choice(xs), sorted(rng.sample(ys, 2))
        edges.append({"x0": x, "x1": x, "top": a, "bottom": b, "orientation": "v"})
        y, (a, b) = rng.choice(ys), sorted(rng.sample(xs, 2))
        edges.append({"x0": a, "x1": b, "top": y, "bottom": y, "orientation": "h"})
    return edges_to_intersections(edges, 0, 0)


def test_cells_from_rule_crossings_are_pdfplumbers():
    import random

    from pdfplumber.table import intersections_to_cells

    rng = random.Random(7)
    for _ in range(400):
        crossings = _random_intersections(rng, rng.randint(2, 8))
        assert pdf_tables.intersections_to_cells(crossings) == intersections_to_cells(crossings)
    assert pdf_tables.intersections_to_cells({(float("nan"), 1.0): {"v": [], "h": []}}) is None  # pdfplumber's search then


@pytest.mark.parametrize("name", ["BD-CCG-invoices-over-30k-April-2014-March-2015.pdf", "spanning_cells.pdf", "health.pdf"])
def test_ruled_tables_are_found_as_pdfplumber_finds_them(name, monkeypatch):
    found, theirs = [], []
    real = pdf_tables.find_tables

    def both(view, settings):
        found.append([(t.bbox, t.cells) for t in real(view, settings)])
        theirs.append([(t.bbox, t.cells) for t in view.find_tables(settings)])
        return real(view, settings)

    monkeypatch.setattr(pdf_tables, "find_tables", both)
    pdf_tables.extract_pages(PDFS / name)
    assert found == theirs and any(found)


def _read(results) -> list:
    return [(r.page, r.chars, r.skipped, [(t.grid(), t.bbox, t.method, t.rotation) for t in r.tables]) for r in results]


def test_intakes_pass_over_the_pages_reads_the_tables_extract_pages_reads(monkeypatch):
    from sources.reports.claims import PlaceMatcher
    from sources.reports.intake import inspect_document

    path = PDFS / "WARN-Report-for-7-1-2015-to-03-25-2016.pdf"
    reader = pdf_tables.PageReader(path)
    intake = inspect_document(path, on_page=reader)
    reader.close()
    assert _read(reader.pages(intake.pages)) == _read(pdf_tables.extract_pages(path))
    assert reader.pages(intake.pages + 1) is None  # another page count: extract_pages reads the document itself
    alone = frames.process_document(path, places=PlaceMatcher([]), specs=[])
    monkeypatch.setattr(frames, "extract_pages", lambda *a, **k: pytest.fail("the pages were loaded again"))
    shared = frames.process_document(path, places=PlaceMatcher([]), specs=[])
    assert shared.frames["core_reports__cells"].equals(alone.frames["core_reports__cells"]) and len(alone.frames["core_reports__cells"])


def test_a_page_failing_in_intakes_pass_fails_the_extraction_as_extract_pages_would(monkeypatch):
    from sources.reports.claims import PlaceMatcher

    def broken(*_args, **_kwargs):
        raise ValueError("unreadable drawing")

    monkeypatch.setattr(pdf_tables, "extract_page", broken)
    path = PDFS / "us-024.pdf"
    with pytest.raises(ValueError, match="unreadable drawing"):
        pdf_tables.extract_pages(path)
    done = frames.process_document(path, places=PlaceMatcher([]), specs=[])
    assert done.intake.status == "quarantined" and done.intake.reason == "extraction failed: ValueError: unreadable drawing"
