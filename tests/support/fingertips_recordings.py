"""Responses of the Fingertips API in its real formats, for the loopback server.

* :func:`fingertips_csv` writes rows in the exact layout of ``all_data/csv/by_indicator_id``: the
  27-column header, CRLF line ends, the indicator name quoted with a trailing newline inside the
  quotes, trailing empty fields dropped (rows shorter than the header), as the bundled real export
  of indicator 93356 shows.
* :func:`from_bundled` re-renders a bundled (re-shaped) file in that layout with its values
  unchanged, England repeated once per region as the API repeats it, so a live build against the
  loopback server can be compared row for row with the offline build.
* :func:`serve_fingertips` routes a :class:`RecordedServer` at the real URL paths and parameters.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import urllib.parse
from pathlib import Path

from sources import fingertips as ft
from sources.catalogue import snapshot_file
from tests.support.http_server import RecordedServer, Reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fingertips"
HEADER = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type",
    "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit",
    "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to Region value or percentiles",
    "Time period Sortable", "New data", "Compared to goal", "Time period range",
]
REGIONS = {
    "E12000001": "North East region", "E12000002": "North West region", "E12000003": "Yorkshire and the Humber region",
    "E12000004": "East Midlands region", "E12000005": "West Midlands region", "E12000006": "East of England region",
    "E12000007": "London region", "E12000008": "South East region", "E12000009": "South West region",
}


def fingertips_csv(rows: list[dict]) -> bytes:
    """Rows (dicts keyed by :data:`HEADER` names) as the API writes them."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        cells = ["" if row.get(h) is None else str(row.get(h)) for h in HEADER]
        while len(cells) > 24 and cells[-1] == "":
            cells.pop()
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def from_bundled(source_id: str, region_of: dict[str, str]) -> bytes:
    """A bundled re-shaped Fingertips file in the API's own layout (values unchanged)."""
    src = ft.catalogue().for_source(source_id)
    ind = ft.catalogue().indicator(src.indicators[0])
    with open(snapshot_file(source_id), newline="", encoding="utf-8-sig") as fh:
        records = list(csv.DictReader(fh))
    rows = []
    for r in records:
        sex = r.get("inequality") if r.get("inequality") in ("Male", "Female") else r["unit"]
        period = ft.canonical_period_label(r["period"])
        code = r["area_code"]
        base = {
            "Indicator ID": ind.id, "Indicator Name": r["indicator"] + "\n", "Area Code": code, "Area Name": r["area_name"],
            "Area Type": r.get("area_type") or ("Country" if code == "E92000001" else "Combined authority" if code.startswith("E47") else "District & UA"),
            "Sex": sex, "Age": "All ages" if ind.age == "all" else ind.age, "Time period": period,
            "Value": "" if r["value"] == "NA" else r["value"],
            "Compared to England value or percentiles": r.get("compared_to_England") or r.get("significance"),
            "Time period Sortable": f"{period[:4]}0000",
        }
        if code == "E92000001":  # England once without a parent, then once per region
            rows.append(base)
            rows += [{**base, "Parent Code": rc, "Parent Name": rn} for rc, rn in REGIONS.items()]
        else:
            region = region_of.get(code)
            rows.append({**base, "Parent Code": region or "", "Parent Name": REGIONS.get(region, "")})
    return fingertips_csv(rows)


def data_path(ids: str, child: int, parent: int) -> str:
    """The request path and query exactly as the client sends them (requests encodes the commas)."""
    query = urllib.parse.urlencode({"indicator_ids": ids, "child_area_type_id": child, "parent_area_type_id": parent,
                                    "include_sortable_time_periods": "yes"})
    return f"/api/all_data/csv/by_indicator_id?{query}"


def changes_reply(stamp: str) -> Reply:
    return Reply(body=json.dumps({"LastUploadedAt": stamp, "LastDeletedAt": None}).encode(), content_type="application/json; charset=utf-8")


def csv_reply(body: bytes) -> Reply:
    return Reply(body=body, content_type="text/csv; charset=utf-8")


def serve_fingertips(server: RecordedServer, data: dict[str, bytes], stamp: str = "2026-04-20T16:25:53") -> None:
    """Route every catalogued source at its real URL: ``data`` maps source id -> CSV body."""
    cat = ft.catalogue()
    server.route("/api/area_types", Reply(body=(FIXTURES / "area_types.json").read_bytes(), content_type="application/json"))
    metadata = (FIXTURES / "indicator_metadata.csv").read_bytes()
    server.route("/api/indicator_metadata/csv/by_indicator_id", csv_reply(metadata))
    for ind in cat.indicators.values():
        server.route(f"/api/data_changes?indicator_id={ind.id}", changes_reply(stamp))
    for src in cat.sources:
        if src.indicators and src.source_id in data:
            server.route(data_path(",".join(src.indicators), src.child_area_type_id, src.parent_area_type_id), csv_reply(data[src.source_id]))


class QuickServer(RecordedServer):
    """A :class:`RecordedServer` that shuts down in ~50 ms instead of serve_forever's default 0.5 s poll."""

    def __init__(self) -> None:
        super().__init__()
        self._thread = threading.Thread(target=lambda: self._httpd.serve_forever(poll_interval=0.05), daemon=True)


RESHAPED_SOURCES = ["fingertips_90362_hle", "fingertips_90366_le", "fingertips_93721_u75_preventable", "fingertips_40502_u75_preventable_cancer",
                    "fingertips_92443_smoking", "fingertips_93088_overweight", "fingertips_93015_inactive", "fingertips_92901_le_inequality"]


def recorded_bodies(warehouse_file: Path) -> dict[str, bytes]:
    """The API's answer for every health source: bundled values re-rendered in the real layout (regions read from
    the built warehouse), the real 93356 export, and the synthetic by-cause file."""
    import duckdb

    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        region_of = dict(con.execute("""SELECT child_code, parent_code FROM core_geo__area_membership
                                        WHERE parent_type = 'region' AND relationship = 'within'""").fetchall())
    finally:
        con.close()
    data = {s: from_bundled(s, region_of) for s in RESHAPED_SOURCES}
    data["fingertips_export_93356"] = snapshot_file("fingertips_export_93356").read_bytes()
    data["fingertips_u75_mortality_by_cause"] = (FIXTURES / "u75_mortality_by_cause_synthetic.csv").read_bytes()
    return data


def run_health_live(warehouse_file: Path, raise_on_error: bool = True):
    """Materialise the real health assets in live mode, then the indicator union and the publish asset."""
    from dagster import DagsterInstance, materialize

    from pipelines.assets import health as health_assets
    from pipelines.assets import indicators as union_assets
    from pipelines.definitions import publish
    from pipelines.resources import SourcesResource, WarehouseResource

    return materialize(
        [*health_assets.assets, union_assets.core_indicators, publish],
        selection=[*[k for a in health_assets.assets for k in a.keys], *union_assets.core_indicators.keys, publish.key],
        resources={"warehouse": WarehouseResource(path=str(warehouse_file)), "sources": SourcesResource(mode="live")},
        instance=DagsterInstance.ephemeral(), raise_on_error=raise_on_error,
    )
