"""Research-funding sources against a loopback server with recorded responses: GtR, NIHR, Innovate UK, postcodes.

No test touches the internet: every client is pointed at `tests.support.http_server.RecordedServer`
serving small recorded responses (tests/fixtures/funding/) in the shapes the publishers document.
"""

import datetime as dt
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sources import funding_live, gtr, nihr, postcodes, research_funding
from sources.http import FetchError, make_session
from sources.inputs import InputFile, SourceFormatError
from tests.support.http_server import RecordedServer, Reply

FIXTURES = Path(__file__).parents[1] / "fixtures" / "funding"
JSON = "application/json"


def _json(name: str) -> Reply:
    return Reply(body=(FIXTURES / name).read_bytes(), content_type=JSON)


def _recording(tmp_path, content: bytes, source_id: str, name: str = "recording.jsonl") -> InputFile:
    path = tmp_path / name
    path.write_bytes(content)
    return InputFile(source_id, path, "0" * 64)


def _session():
    return make_session(retries=1, backoff_factor=0)


def _serve_gtr_v7(server: RecordedServer, funds_p001: Reply | None = None) -> None:
    server.route("/gtr/api/projects?p=1&s=2", _json("gtr_v7_projects_p1.json"))
    server.route("/gtr/api/projects?p=2&s=2", _json("gtr_v7_projects_p2.json"))
    for pid in ("P-001", "P-002", "P-003"):
        server.route(f"/gtr/api/projects/{pid}/funds", _json(f"gtr_v7_funds_{pid}.json"))
    if funds_p001 is not None:
        server.route("/gtr/api/projects/P-001/funds", funds_p001)
    for org in ("ORG-MAN", "ORG-CAM"):
        server.route(f"/gtr/api/organisations/{org}", _json(f"gtr_v7_organisation_{org}.json"))


@pytest.fixture(scope="module")
def lookup():
    return postcodes.read_lookup(InputFile("ons_postcode_lookup", FIXTURES / "nspl_sample.csv", "1" * 64))


# --- Gateway to Research ----------------------------------------------------------------------------

def test_gtr_v7_crawl_pages_fetches_funds_and_each_lead_organisation_once(tmp_path, lookup):
    with RecordedServer() as server:
        _serve_gtr_v7(server)
        content = gtr.GtrClient(server.url("/gtr/api"), _session(), page_size=2).crawl()
        paths = [p for p, _, _ in server.requests]
        accepts = {h.get("Accept") for _, _, h in server.requests}
    assert accepts == {gtr.ACCEPT}
    assert paths.count("/gtr/api/projects") == 2
    assert paths.count("/gtr/api/organisations/ORG-MAN") == 1  # two projects, one organisation fetch
    awards = gtr.parse(_recording(tmp_path, content, "ukri_gtr"))
    assert list(awards["award_id"]) == ["MR/T000001/1", "EP/S000002/1", "MC_UU_00003/1"]
    assert list(awards["amount_gbp"]) == [1_000_000.0, 250_000.0, 3_000_000.0]
    assert list(awards["funding_type"]) == ["direct_award", "studentship", "infrastructure"]
    assert awards.loc[0, "start_date"] == dt.date(2021, 1, 1) and awards.loc[0, "end_date"] == dt.date(2022, 12, 31)
    assert awards.loc[0, "postcode"] == "M13 9PL" and awards.loc[0, "organisation"] == "University of Manchester"
    placed = research_funding.place(awards, lookup, "the NSPL sample")
    assert list(placed["status"]) == ["placed", "placed", "unplaced"]
    assert placed.loc[0, "lad_code"] == "E08000003"
    assert placed.loc[2, "reason"] == "postcode CB99 9ZZ is not in the NSPL sample"
    assert placed["source_locator"].str.contains("project P-00").all()


def test_gtr_fund_without_value_pounds_is_a_clear_error(tmp_path):
    broken = json.loads((FIXTURES / "gtr_v7_funds_P-001.json").read_text())
    del broken["fund"][0]["valuePounds"]
    with RecordedServer() as server:
        _serve_gtr_v7(server, funds_p001=Reply(body=json.dumps(broken).encode(), content_type=JSON))
        content = gtr.GtrClient(server.url("/gtr/api"), _session(), page_size=2).crawl()
    with pytest.raises(SourceFormatError, match=r"project P-001 .*no numeric valuePounds"):
        gtr.parse(_recording(tmp_path, content, "ukri_gtr"))


def test_gtr_projects_bean_shape_pages_until_empty_and_lists_awards_as_unplaced(tmp_path, lookup):
    with RecordedServer() as server:
        server.route("/api/projects?p=1&s=100", _json("gtr_bean_projects_p1.json"))
        server.route("/api/projects?page=1&size=100", _json("gtr_bean_projects_p1.json"))
        server.route("/api/projects?page=2&size=100", _json("gtr_bean_projects_p2.json"))
        content = gtr.GtrClient(server.url("/api"), _session()).crawl()
    awards = research_funding.place(gtr.parse(_recording(tmp_path, content, "ukri_gtr")), lookup)
    assert list(awards["award_id"]) == ["AH/X000001/1"] and awards.loc[0, "amount_gbp"] == 54321.0
    assert awards.loc[0, "status"] == "unplaced"
    assert "projectsBean shape gives no lead-organisation address" in awards.loc[0, "reason"]


def test_gtr_bean_page_missing_value_pounds_names_the_project(tmp_path):
    page = json.loads((FIXTURES / "gtr_bean_projects_p1.json").read_text())
    del page["projectsBean"]["projects"][0]["fund"]["valuePounds"]
    body = json.dumps(page).encode()
    with RecordedServer() as server:
        server.route("/api/projects?p=1&s=100", Reply(body=body, content_type=JSON))
        server.route("/api/projects?page=1&size=100", Reply(body=body, content_type=JSON))
        server.route("/api/projects?page=2&size=100", _json("gtr_bean_projects_p2.json"))
        content = gtr.GtrClient(server.url("/api"), _session()).crawl()
    with pytest.raises(SourceFormatError, match=r"project B-1 .*valuePounds"):
        gtr.parse(_recording(tmp_path, content, "ukri_gtr"))


def test_gtr_unknown_shape_is_refused(tmp_path):
    with RecordedServer() as server:
        server.route("/gtr/api/projects", Reply(body=b'{"results": []}', content_type=JSON))
        with pytest.raises(FetchError, match="not a Gateway to Research projects page.*results"):
            gtr.GtrClient(server.url("/gtr/api"), _session()).crawl()


def test_gtr_base_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OBSERVATORY_GTR_BASE_URL", "http://127.0.0.1:9/gtr/api/")
    assert gtr.GtrClient(session=_session()).base == "http://127.0.0.1:9/gtr/api"
    monkeypatch.delenv("OBSERVATORY_GTR_BASE_URL")
    assert gtr.GtrClient(session=_session()).base == "https://gtr.ukri.org/gtr/api"


# --- NIHR Open Data -----------------------------------------------------------------------------------

def _serve_nihr(server, where=None, pages=("nihr_records_p1.json", "nihr_records_p2.json"), limit=2):
    base = "/api/explore/v2.1/catalog/datasets/nihr-summary-view/records"
    offset = 0
    for name in pages:
        query = f"limit={limit}&offset={offset}&order_by=project_id" + (f"&where={where}" if where else "")
        server.route(f"{base}?{query}", _json(name))
        offset += len(json.loads((FIXTURES / name).read_text())["results"])
    return base


def test_nihr_pages_with_limit_and_offset_and_places_by_postcode(tmp_path, lookup):
    with RecordedServer() as server:
        base = _serve_nihr(server)
        content = nihr.NihrClient(server.url("/api/explore/v2.1"), _session(), limit=2).crawl()
        queries = [q for p, q, _ in server.requests if p == base]
    assert [q["offset"] for q in queries] == ["0", "2"] and all(q["limit"] == "2" for q in queries)
    awards = research_funding.place(nihr.parse(_recording(tmp_path, content, "nihr_open_data")), lookup)
    assert list(awards["award_id"]) == ["NIHR200001", "NIHR200002", "NIHR200003"]
    assert list(awards["funding_type"]) == ["direct_award", "infrastructure", "direct_award"]
    assert list(awards["lad_code"]) == ["E06000002", "E08000021", None]
    assert awards.loc[2, "status"] == "unplaced" and "ZZ1 1ZZ is not in" in awards.loc[2, "reason"]


def test_nihr_limit_above_100_is_refused():
    with pytest.raises(ValueError, match="limit must be between 1 and 100"):
        nihr.NihrClient("http://127.0.0.1:9", _session(), limit=500)


def test_nihr_beyond_the_paging_window_pages_one_start_year_at_a_time(tmp_path):
    import urllib.parse

    p1 = json.loads((FIXTURES / "nihr_records_p1.json").read_text())
    p2 = json.loads((FIXTURES / "nihr_records_p2.json").read_text())
    with RecordedServer() as server:
        base = "/api/explore/v2.1/catalog/datasets/nihr-summary-view/records"
        server.route(f"{base}?limit=2&offset=0&order_by=project_id", Reply(body=json.dumps(p1).encode(), content_type=JSON))
        parts = {
            "start_date >= date'2022-01-01' AND start_date < date'2023-01-01'": {"total_count": 2, "results": p1["results"]},
            "start_date >= date'2023-01-01' AND start_date < date'2024-01-01'": {"total_count": 0, "results": []},
            "start_date IS NULL OR start_date < date'2022-01-01' OR start_date >= date'2024-01-01'": {"total_count": 1, "results": p2["results"]},
        }
        for where, body in parts.items():
            query = urllib.parse.urlencode({"limit": 2, "offset": 0, "order_by": "project_id", "where": where})
            server.route(f"{base}?{query}", Reply(body=json.dumps(body).encode(), content_type=JSON))
        content = nihr.NihrClient(server.url("/api/explore/v2.1"), _session(), limit=2, window=2, first_year=2022, last_year=2023).crawl()
    awards = nihr.parse(_recording(tmp_path, content, "nihr_open_data"))
    assert sorted(awards["award_id"]) == ["NIHR200001", "NIHR200002", "NIHR200003"]


def test_nihr_record_without_an_amount_field_is_a_clear_error(tmp_path):
    body = json.loads((FIXTURES / "nihr_records_p2.json").read_text())
    del body["results"][0]["award_amount_from_dh"]
    recording = json.dumps({"url": "http://x/records", "kind": "records", "offset": 0, "body": body}).encode() + b"\n"
    with pytest.raises(SourceFormatError, match="NIHR200003: no 'award_amount_from_dh'"):
        nihr.parse(_recording(tmp_path, recording, "nihr_open_data"))


# --- award model: placement, classification, negative awards ------------------------------------------------

def _awards(tmp_path, **changes):
    record = {"award_id": "A1", "dataset": "nihr", "funder": "NIHR", "programme": "HTA", "title": "t", "organisation": "o",
              "postcode": "m13 9pl", "amount_gbp": 100.0, "value_basis": "total_award", "start_date": dt.date(2022, 1, 1),
              "end_date": dt.date(2022, 12, 31), "award_year": 2022, "funding_type": "direct_award", "classification_rule": "r",
              "funder_category": None} | changes
    return research_funding.finish_awards([record], InputFile("nihr_open_data", tmp_path / "x.jsonl", "2" * 64), ["line 1"])


def test_postcodes_are_normalised_and_every_failure_has_a_reason(tmp_path, lookup):
    assert research_funding.place(_awards(tmp_path), lookup).loc[0, "lad_code"] == "E08000003"  # "m13 9pl"
    cases = {None: "no postcode given", "NOT A POSTCODE": "is not a valid UK postcode", "ZZ9 9ZZ": "is not in",
             "GY1 1AA": "has no LAD in"}
    for postcode, reason in cases.items():
        placed = research_funding.place(_awards(tmp_path, postcode=postcode), lookup)
        assert placed.loc[0, "status"] == "unplaced" and reason in placed.loc[0, "reason"], postcode
    no_lookup = research_funding.place(_awards(tmp_path), None)
    assert no_lookup.loc[0, "status"] == "unplaced" and "no postcode lookup" in no_lookup.loc[0, "reason"]
    no_amount = research_funding.place(_awards(tmp_path, amount_gbp=None), lookup)
    assert no_amount.loc[0, "status"] == "excluded" and no_amount.loc[0, "reason"] == "no award amount published"


def test_a_negative_award_is_a_clear_error(tmp_path):
    with pytest.raises(SourceFormatError, match=r"1 award\(s\) with a negative amount: A1 \(-5,000.00\)"):
        _awards(tmp_path, amount_gbp=-5000)


def test_classification_rules():
    assert research_funding.classify("Studentship")[0] == "studentship"
    assert research_funding.classify("Training Grant")[0] == "studentship"
    assert research_funding.classify("Infrastructure", "Biomedical Research Centre")[0] == "infrastructure"
    assert research_funding.classify("Research Grant")[0] == "direct_award"
    funding_type, rule = research_funding.classify(None)
    assert funding_type == "direct_award" and rule == "direct_award: no category given"


def test_postcode_lookups_in_nspl_onspd_and_zip_form(tmp_path):
    onspd = postcodes.read_lookup(InputFile("ons_postcode_lookup", FIXTURES / "onspd_sample.csv", "3" * 64))
    assert onspd.loc["TS13BA", "lad_code"] == "E06000002"  # lad25cd found by pattern
    zipped = tmp_path / "NSPL.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(FIXTURES / "nspl_sample.csv", "Data/NSPL_MAY_2025_UK.csv")
        archive.writestr("Documents/readme.csv", "a,b\n1,2\n")
    nspl = postcodes.read_lookup(InputFile("ons_postcode_lookup", zipped, "4" * 64))
    assert nspl.loc["M139PL", "lad_code"] == "E08000003" and bool(nspl.loc["CB20QQ", "terminated"])
    bad = tmp_path / "bad.csv"
    bad.write_text("pcds,district\nM13 9PL,Manchester\n")
    with pytest.raises(SourceFormatError, match=r"no LAD \(laua / ladNNcd\) column"):
        postcodes.read_lookup(InputFile("ons_postcode_lookup", bad, "5" * 64))


# --- award spreadsheets -------------------------------------------------------------------------------------

def _iuk_workbook(tmp_path, header_row=1, negative=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    header = ["Competition Reference", "Competition Title", "Programme Title", "Sector", "Application Number", "Project Number",
              "Project Title", "Public Description", "Competition Year", "Innovate UK Product Type", "Participant Name",
              "Is Lead Participant", "CRN", "Project Start Date", "Project End Date", "Award Offered (£)", "Total Costs (£)",
              "Actual Spend to Date (£)", "Participant Withdrawn From Project", "Project Status", "Enterprise Size", "Postcode",
              "Address Region", "Address LEP", "Address Local Authority", "In Multiple LEPs", "Industrial Strategy Challenge Fund (ISCF)"]
    for j, h in enumerate(header, start=1):
        ws.cell(header_row, j, h)
    rows = [
        ("10001", "Lead Co", "Yes", "01234567", 44562, 45291, -1000 if negative else 150000, "", "LS2 9JT", "Collaborative R&D"),
        ("10001", "Partner Co", "No", "07654321", 44562, 45291, 50000, "Withdrawn", "M13 9PL", "Collaborative R&D"),
        ("10002", "Catapult Ltd", "Yes", "", 44927, 45291, 80000, "", "ZZ9 9ZZ", "Catapult"),
    ]
    for i, (number, name, lead, crn, start, end, award, withdrawn, postcode, product) in enumerate(rows, start=header_row + 1):
        values = {"Project Number": number, "Participant Name": name, "Is Lead Participant": lead, "CRN": crn, "Project Start Date": start,
                  "Project End Date": end, "Award Offered (£)": award, "Participant Withdrawn From Project": withdrawn, "Postcode": postcode,
                  "Innovate UK Product Type": product, "Project Title": f"Project {number}", "Competition Title": "Open competition"}
        for j, h in enumerate(header, start=1):
            ws.cell(i, j, values.get(h, ""))
    path = tmp_path / "IUK-130126-InnovateUKFundedProjectsFY2015To2016ToPresent.xlsx"
    wb.save(path)
    return InputFile("innovate_uk_projects", path, "6" * 64)


def test_innovate_uk_spreadsheet(tmp_path, lookup):
    awards = research_funding.place(research_funding.parse_innovate_uk(_iuk_workbook(tmp_path, header_row=3)), lookup)
    assert list(awards["award_id"]) == ["10001:01234567", "10001:07654321", "10002:Catapult Ltd"]
    assert awards.loc[0, "start_date"] == dt.date(2022, 1, 1)  # Excel serial 44562
    assert list(awards["status"]) == ["placed", "excluded", "unplaced"]
    assert awards.loc[1, "reason"] == "participant withdrawn from the project"
    assert awards.loc[2, "funding_type"] == "infrastructure"  # Catapult
    with pytest.raises(SourceFormatError, match="negative amount"):
        research_funding.parse_innovate_uk(_iuk_workbook(tmp_path, negative=True))


def test_innovate_uk_workbook_links_are_discovered_from_the_publication_page():
    page = (b'<html><body><a href="/wp-content/uploads/2026/01/IUK-130126-InnovateUKFundedProjects2004ToFY2014To2015.xlsx">old</a>'
            b'<a href="https://www.ukri.org/wp-content/uploads/2026/01/IUK-130126-InnovateUKFundedProjectsFY2015To2016ToPresent.xlsx">new</a></body></html>')
    with RecordedServer() as server:
        server.route("/publications/iuk/", Reply(body=page, content_type="text/html"))
        links = research_funding.discover_innovate_uk(_session(), server.url("/publications/iuk/"))
        server.route("/publications/empty/", Reply(body=b"<html><body>moved</body></html>", content_type="text/html"))
        with pytest.raises(FetchError, match="no 'IUK-DDMMYY"):
            research_funding.discover_innovate_uk(_session(), server.url("/publications/empty/"))
    assert links[0] == server.url("/wp-content/uploads/2026/01/IUK-130126-InnovateUKFundedProjects2004ToFY2014To2015.xlsx")
    assert links[1].startswith("https://www.ukri.org/")


def test_ukhra_file_without_locations_lists_every_award_as_unplaced(tmp_path, lookup):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2022_Data_1Line"
    ws.append(["HRCS2022_ID", "FundingOrganisation", "OrganisationReference", "AwardTitle", "AwardAbstract", "2022AnnualisedValue",
               "HC_1", "HC_1%", "RA_1", "RA_1%", "CodingType"])
    ws.append(["H1", "MRC", "MR/1", "A trial", "...", 120000.5, "Cancer and Neoplasms", 100, "6.1", 100, "Manual"])
    ws.append(["H2", "Wellcome", "WT/2", "A cohort", "...", 5000, "Generic", 100, "2.1", 100, "Automated"])
    path = tmp_path / "UKHRA2022.xlsx"
    wb.save(path)
    awards = research_funding.place(research_funding.parse_ukhra(InputFile("ukhra_awards", path, "7" * 64)), lookup)
    assert list(awards["award_id"]) == ["MRC:H1", "Wellcome:H2"] and set(awards["award_year"]) == {2022}
    assert set(awards["value_basis"]) == {"annualised_spend"} and set(awards["status"]) == {"unplaced"}
    assert set(awards["reason"]) == {"the 2022 UKHRA file has no research-location (postcode) column"}


def test_live_files_are_landed_with_their_credit(tmp_path):
    landed = funding_live.land_bytes(b"a,b\n1,2\n", "ukhra_awards", "http://example/ukhra.csv", tmp_path / ".landing", "ukhra.csv")
    assert landed.mode == "live" and landed.licence == "CC-BY-4.0" and landed.publisher == "UK Clinical Research Collaboration"
    again = funding_live.land_bytes(b"a,b\n1,2\n", "ukhra_awards", "http://example/other.csv", tmp_path / ".landing", "ukhra.csv")
    assert again.retrieved_at == landed.retrieved_at and again.origin == landed.origin  # same bytes: first record kept
