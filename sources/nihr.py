"""NIHR Open Data (Opendatasoft explore API v2.1): crawl the funded-awards dataset and parse the recording.

``{base}/catalog/datasets/nihr-summary-view/records?limit=100&offset=N&order_by=project_id`` returns
``{"total_count": n, "results": [...]}``. ``limit`` may not exceed 100 and Opendatasoft refuses
``offset + limit`` beyond a window of 10,000 records, so when the dataset is larger the client pages
through it one start year at a time (``where=start_date >= date'Y-01-01' AND start_date < date'Y+1-01-01'``,
plus ``start_date IS NULL``) and checks that the partitions add up to the total.

Each record carries ``project_id``, ``award_amount_from_dh`` (£), ``postcode`` of the contracted
organisation, dates and the programme fields used to classify the award.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import requests

from sources.funding_live import CrawlBudget, Recorder, location, read_recording
from sources.http import FetchError, fetch, make_session
from sources.inputs import InputFile, SourceFormatError
from sources.research_funding import classify, finish_awards

SOURCE_ID = "nihr_open_data"
DATASET = "nihr-summary-view"
PAGE_LIMIT = 100  # the API's maximum
WINDOW = 10_000  # offset + limit may not exceed this
FIRST_YEAR = 1990


class NihrClient:
    def __init__(self, base_url: str | None = None, session: requests.Session | None = None, *, dataset: str = DATASET,
                 limit: int = PAGE_LIMIT, window: int = WINDOW, first_year: int = FIRST_YEAR, last_year: int | None = None) -> None:
        if not 0 < limit <= PAGE_LIMIT:
            raise ValueError(f"limit must be between 1 and {PAGE_LIMIT} (the Opendatasoft maximum), not {limit}")
        self.base = (base_url or location(SOURCE_ID)).rstrip("/")
        self.session = session or make_session()
        self.dataset, self.limit, self.window = dataset, limit, window
        self.first_year = first_year
        self.last_year = last_year or dt.date.today().year + 1
        self.budget: CrawlBudget | None = None

    @property
    def url(self) -> str:
        return f"{self.base}/catalog/datasets/{self.dataset}/records"

    def _page(self, offset: int, where: str | None) -> tuple[dict, str]:
        params = {"limit": self.limit, "offset": offset, "order_by": "project_id"} | ({"where": where} if where else {})
        self.budget = self.budget or CrawlBudget("NIHR Open Data")
        got = fetch(self.session, self.url, params=params, expect="json")
        self.budget.page(got.url)
        body = got.json()
        if not isinstance(body, dict) or not isinstance(body.get("results"), list) or not isinstance(body.get("total_count"), int):
            keys = sorted(body)[:10] if isinstance(body, dict) else type(body).__name__
            raise FetchError(f"{got.url}: not an Opendatasoft records page ('total_count' and 'results'); keys {keys}")
        return body, got.url

    def _pages(self, recorder: Recorder, where: str | None, first: tuple[dict, str] | None = None) -> int:
        body, url = first or self._page(0, where)
        total = body["total_count"]
        if total > self.window:
            raise FetchError(f"{url}: {total:,} records match {where!r}, more than the API's paging window of {self.window:,}")
        offset = 0
        while True:
            recorder.add(url, "records", body, offset=offset, where=where)
            offset += len(body["results"])
            if not body["results"] or offset >= total:
                return total
            body, url = self._page(offset, where)

    def crawl(self) -> bytes:
        """Every record; a :class:`CrawlBudget` (page cap, deadline) bounds the crawl."""
        recorder = Recorder()
        self.budget = CrawlBudget("NIHR Open Data")
        first = self._page(0, None)
        total = first[0]["total_count"]
        if total <= self.window:
            self._pages(recorder, None, first)
            return recorder.content()
        counted = 0
        for year in range(self.first_year, self.last_year + 1):
            counted += self._pages(recorder, f"start_date >= date'{year}-01-01' AND start_date < date'{year + 1}-01-01'")
        counted += self._pages(recorder, f"start_date IS NULL OR start_date < date'{self.first_year}-01-01' OR start_date >= date'{self.last_year + 1}-01-01'")
        if counted != total:
            raise FetchError(f"{self.url}: paging by start year found {counted:,} records but the dataset has {total:,}")
        return recorder.content()


def _date(value) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parse(f: InputFile) -> pd.DataFrame:
    """Awards from a NIHR recording (``f`` is the landed JSON Lines file)."""
    records, locators, seen = [], [], set()
    for n, line in enumerate(read_recording(f.path), start=1):
        body = line["body"]
        if line["kind"] != "records" or not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise SourceFormatError(f"{f.label}: line {n} ({line.get('url')}) is not an Opendatasoft records page")
        for k, rec in enumerate(body["results"]):
            fields = rec.get("record", {}).get("fields", rec) if "record" in rec else rec
            pid = fields.get("project_id")
            if not pid:
                raise SourceFormatError(f"{f.label}: line {n} ({line['url']}), record {k}: no project_id (keys {sorted(fields)[:10]})")
            if pid in seen:
                continue  # the same award on two pages (records added while paging)
            seen.add(pid)
            if "award_amount_from_dh" not in fields:
                raise SourceFormatError(f"{f.label}: line {n} ({line['url']}), project {pid}: no 'award_amount_from_dh' field (keys {sorted(fields)[:12]})")
            start = _date(fields.get("start_date"))
            funding_type, rule = classify(fields.get("programme_type"), fields.get("programme"), fields.get("funding_stream"),
                                          fields.get("programme_stream"))
            records.append({
                "award_id": pid, "dataset": "nihr", "funder": fields.get("funder") or "NIHR", "programme": fields.get("programme"),
                "title": fields.get("project_title"), "organisation": fields.get("contracted_organisation"),
                "postcode": fields.get("postcode"), "amount_gbp": fields.get("award_amount_from_dh"), "value_basis": "total_award",
                "start_date": start, "end_date": _date(fields.get("end_date")), "award_year": start.year if start else None,
                "funding_type": funding_type, "classification_rule": rule,
                "funder_category": " / ".join(str(fields.get(k)) for k in ("programme_type", "programme") if fields.get(k)) or None,
            })
            locators.append(f"line {n} offset {line.get('offset', 0) + k} project {pid}")
    return finish_awards(records, f, locators)
