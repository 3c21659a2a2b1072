"""UKRI Gateway to Research: crawl projects with their funds and lead organisations, and parse the recording.

Two JSON shapes are recognised (see the design anchors):

* **v7 API** (``{base}/projects?p=N&s=100`` with ``Accept: application/vnd.rcuk.gtr.json-v7``):
  ``{"project": [...], "page", "size", "totalPages", "totalSize"}``. For each project the client
  fetches ``/projects/{id}/funds`` (``fund[].valuePounds.amount``, dates in epoch ms) and the lead
  organisation named by the project's ``LEAD_ORG`` link, ``/organisations/{id}``, whose
  ``addresses.address[].postCode`` places the award (organisations are fetched once each).
* **projectsBean** (``{base}/projects?page=N&size=100``, pages until an empty one):
  ``{"projectsBean": {"projects": [...]}}`` with ``fund: {valuePounds: <number>, start, end}``
  inline and no organisation address, so those awards are listed as unplaced with that reason.

Every crawl has a :class:`~sources.funding_live.CrawlBudget`: a listing claiming more pages than the cap
is refused at once, and a crawl past its page cap or deadline fails naming both (nothing is landed).
``max_pages`` (``$OBSERVATORY_GTR_MAX_PAGES``) is different: a deliberate sample of the first pages.

Anything else is refused with a :class:`FetchError` (while crawling) or :class:`SourceFormatError`
(while parsing) naming the URL and the keys seen. A fund without ``valuePounds`` is a
``SourceFormatError`` naming the project and page.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import requests

from sources.funding_live import CrawlBudget, Recorder, location, read_recording
from sources.http import FetchError, fetch, make_session
from sources.inputs import InputFile, SourceFormatError
from sources.research_funding import classify, finish_awards

SOURCE_ID = "ukri_gtr"
ACCEPT = "application/vnd.rcuk.gtr.json-v7"
PAGE_SIZE = 100


def shape_of(body) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("project"), list):
        return "v7"
    if isinstance(body, dict) and isinstance(body.get("projectsBean"), dict) and isinstance(body["projectsBean"].get("projects"), list):
        return "bean"
    return None


def _keys(body) -> str:
    return str(sorted(body)[:10]) if isinstance(body, dict) else type(body).__name__


def _link_id(project: dict, rel: str) -> str | None:
    links = ((project.get("links") or {}).get("link")) or []
    for link in links:
        if link.get("rel") == rel and link.get("href"):
            return link["href"].rstrip("/").rsplit("/", 1)[-1]
    return None


class GtrClient:
    """Crawls GtR into a recording (bytes): every page, fund list and organisation fetched."""

    def __init__(self, base_url: str | None = None, session: requests.Session | None = None, *, page_size: int = PAGE_SIZE,
                 max_pages: int | None = None, query: str | None = None, budget: CrawlBudget | None = None) -> None:
        self.base = (base_url or location(SOURCE_ID)).rstrip("/")
        self.session = session or make_session()
        self.page_size = page_size
        self.max_pages = max_pages
        self.query = query
        self.budget = budget

    def _get(self, path: str, params: dict | None = None):
        self.budget.tick(f"{self.base}/{path.lstrip('/')}")
        return fetch(self.session, f"{self.base}/{path.lstrip('/')}", params=params, headers={"Accept": ACCEPT}, expect="json")

    def crawl(self) -> bytes:
        recorder = Recorder()
        self.budget = self.budget or CrawlBudget("Gateway to Research")
        params = {"p": 1, "s": self.page_size} | ({"q": self.query} if self.query else {})
        first = self._get("projects", params)
        self.budget.page(first.url)
        body = first.json()
        shape = shape_of(body)
        if shape == "v7":
            self._crawl_v7(recorder, first, body, params)
        elif shape == "bean":
            self._crawl_bean(recorder)
        else:
            raise FetchError(f"{first.url}: not a Gateway to Research projects page in a known shape (v7 'project' list or "
                             f"'projectsBean.projects'); keys {_keys(body)}")
        return recorder.content()

    def _crawl_v7(self, recorder: Recorder, first, body, params: dict) -> None:
        organisations: set[str] = set()
        page, fetched = 1, first
        total_pages = int(body.get("totalPages") or 1)
        if not self.max_pages or self.max_pages > self.budget.page_cap:
            self.budget.check_total(total_pages, first.url)
        while True:
            recorder.add(fetched.url, "projects", body, page=page)
            for project in body["project"]:
                pid = project.get("id")
                if not pid:
                    raise FetchError(f"{fetched.url}: a project has no 'id' (keys {_keys(project)})")
                funds = self._get(f"projects/{pid}/funds")
                recorder.add(funds.url, "funds", funds.json(), project_id=pid)
                org = _link_id(project, "LEAD_ORG")
                if org and org not in organisations:
                    organisations.add(org)
                    got = self._get(f"organisations/{org}")
                    recorder.add(got.url, "organisation", got.json(), organisation_id=org)
            page += 1
            if page > total_pages or (self.max_pages and page > self.max_pages):
                return
            fetched = self._get("projects", params | {"p": page})
            self.budget.page(fetched.url)
            body = fetched.json()
            if shape_of(body) != "v7":
                raise FetchError(f"{fetched.url}: page {page} is not in the v7 shape of page 1; keys {_keys(body)}")

    def _crawl_bean(self, recorder: Recorder) -> None:
        page = 1
        while not self.max_pages or page <= self.max_pages:
            fetched = self._get("projects", {"page": page, "size": self.page_size} | ({"q": self.query} if self.query else {}))
            if page > 1:  # page 1 was counted by crawl()
                self.budget.page(fetched.url)
            body = fetched.json()
            if shape_of(body) != "bean":
                raise FetchError(f"{fetched.url}: page {page} is not in the projectsBean shape of page 1; keys {_keys(body)}")
            recorder.add(fetched.url, "projects_bean", body, page=page)
            if not body["projectsBean"]["projects"]:
                return
            page += 1


def _epoch_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _amount(value_pounds, where: str) -> float:
    """``valuePounds`` as a number: v7 ``{amount, currencyCode}``, projectsBean a bare number."""
    if isinstance(value_pounds, dict):
        if value_pounds.get("currencyCode", "GBP") not in ("GBP", None):
            raise SourceFormatError(f"{where}: valuePounds is in {value_pounds.get('currencyCode')!r}, not GBP")
        value_pounds = value_pounds.get("amount")
    if isinstance(value_pounds, bool) or not isinstance(value_pounds, (int, float)):
        raise SourceFormatError(f"{where}: the fund has no numeric valuePounds (found {value_pounds!r})")
    return float(value_pounds)


def _grant_reference(project: dict) -> str | None:
    ids = ((project.get("identifiers") or {}).get("identifier")) or []
    for ident in ids:
        if ident.get("type") in ("RCUK", "RCUK_GRANT_REF") and ident.get("value"):
            return ident["value"]
    return project.get("grantReference") or (ids[0].get("value") if ids else None)


def _postcode(organisation: dict | None) -> str | None:
    if not organisation:
        return None
    addresses = ((organisation.get("addresses") or {}).get("address")) or []
    for address in addresses:
        if address.get("postCode"):
            return address["postCode"]
    return None


def parse(f: InputFile) -> pd.DataFrame:
    """Awards from a GtR recording (``f`` is the landed JSON Lines file)."""
    lines = read_recording(f.path)
    funds = {line["project_id"]: (line["body"], line["url"]) for line in lines if line["kind"] == "funds"}
    orgs = {line["organisation_id"]: line["body"] for line in lines if line["kind"] == "organisation"}
    records, locators = [], []
    for n, line in enumerate(lines, start=1):
        body, url = line["body"], line["url"]
        if line["kind"] == "projects":
            if shape_of(body) != "v7":
                raise SourceFormatError(f"{f.label}: line {n} ({url}) is not a v7 projects page; keys {_keys(body)}")
            for project in body["project"]:
                pid = project.get("id")
                where = f"{f.label}: project {pid} ({url})"
                fund_body, fund_url = funds.get(pid, (None, None))
                if fund_body is None:
                    raise SourceFormatError(f"{where}: the recording has no fund list for this project")
                fund_list = fund_body.get("fund") if isinstance(fund_body, dict) else None
                if not isinstance(fund_list, list):
                    raise SourceFormatError(f"{where}: {fund_url} is not a fund list (keys {_keys(fund_body)})")
                amounts = [_amount(fund.get("valuePounds"), f"{where}, fund {fund_url}") for fund in fund_list]
                starts = [d for d in (_epoch_date(fund.get("start")) for fund in fund_list) if d]
                ends = [d for d in (_epoch_date(fund.get("end")) for fund in fund_list) if d]
                start = min(starts) if starts else _epoch_date(project.get("start"))
                org_id = _link_id(project, "LEAD_ORG")
                organisation = orgs.get(org_id) if org_id else None
                categories = [project.get("grantCategory"), *[fund.get("category") for fund in fund_list]]
                funding_type, rule = classify(*categories)
                records.append({
                    "award_id": _grant_reference(project) or pid, "dataset": "gtr", "funder": project.get("leadFunder"),
                    "programme": project.get("grantCategory"), "title": project.get("title"),
                    "organisation": (organisation or {}).get("name"), "postcode": _postcode(organisation),
                    "amount_gbp": sum(amounts) if amounts else None, "value_basis": "total_award",
                    "start_date": start, "end_date": max(ends) if ends else _epoch_date(project.get("end")),
                    "award_year": start.year if start else None, "funding_type": funding_type, "classification_rule": rule,
                    "funder_category": project.get("grantCategory"),
                    "location_note": None if org_id else "the GtR project names no lead organisation",
                })
                locators.append(f"line {n} page {line.get('page')} project {pid}")
        elif line["kind"] == "projects_bean":
            if shape_of(body) != "bean":
                raise SourceFormatError(f"{f.label}: line {n} ({url}) is not a projectsBean page; keys {_keys(body)}")
            for project in body["projectsBean"]["projects"]:
                pid = project.get("id")
                fund = project.get("fund")
                if not isinstance(fund, dict):
                    raise SourceFormatError(f"{f.label}: project {pid} ({url}) has no fund object (keys {_keys(project)})")
                amount = _amount(fund.get("valuePounds"), f"{f.label}: project {pid} ({url})")
                start = _epoch_date(fund.get("start"))
                funding_type, rule = classify(project.get("grantCategory"))
                records.append({
                    "award_id": project.get("grantReference") or pid, "dataset": "gtr", "funder": (fund.get("funder") or {}).get("name"),
                    "programme": project.get("grantCategory"), "title": project.get("title"), "organisation": None, "postcode": None,
                    "amount_gbp": amount, "value_basis": "total_award", "start_date": start, "end_date": _epoch_date(fund.get("end")),
                    "award_year": start.year if start else None, "funding_type": funding_type, "classification_rule": rule,
                    "funder_category": project.get("grantCategory"),
                    "location_note": "the GtR projectsBean shape gives no lead-organisation address",
                })
                locators.append(f"line {n} page {line.get('page')} project {pid}")
        elif line["kind"] not in ("funds", "organisation"):
            raise SourceFormatError(f"{f.label}: line {n} has an unknown kind {line['kind']!r}")
    return finish_awards(records, f, locators)
