"""Which Fingertips indicators live mode should land, named by the user: whole profiles and/or indicator ids.

The selection lives in ``sources/fingertips_selection.toml`` (``profiles`` by key, name or id, e.g. ``"PHOF"``
for the Public Health Outcomes Framework; ``indicators`` by id). :func:`resolve_selection` turns it into
catalogue entries (:class:`sources.fingertips.Indicator`) from the publisher's own metadata, so an indicator
nobody catalogued by hand still lands with its name, definition, unit, polarity and value type, and with an
aggregation rule derived by one general rule (:func:`aggregation_for`): the value type's
``[[aggregation_rule]]`` when the catalogue has one, else the confidence-interval method (a count-based CI,
Byar's/Wilson/Poisson/exact, means count / denominator and so sums; Dobson's, Chiang's or any standardised or
modelled value means a population-weighted estimate only; anything else is never combined).

Requests: ``profiles`` (JSON) to find profile ids; ``indicator_metadata/csv/by_profile_id`` for a profile's
indicators; ``indicator_metadata/csv/by_indicator_id`` and ``indicator_metadata/by_indicator_id`` (JSON: CI
method and unit multiplier), both at most 100 ids a call. :func:`changed_since` asks the per-indicator
change probe (``data_changes``) so a refresh fetches only what changed; :func:`fetch` lands the data with
:meth:`FingertipsClient.all_data` (batches of at most 100 ids).

Live mode lands the selection as source ``fingertips_selection``: the data batches as fetched, plus one
manifest (:data:`MANIFEST_NAME`, :func:`manifest_bytes`) holding every resolved indicator's catalogue entry,
its change-probe stamp and the sha256 of the landed file that holds its current data. The build reads the
manifest back (:func:`read_manifest`), so rebuilding from the same landed files gives the same warehouse
without asking the API. Indicators already in ``fingertips_indicators.toml`` are left to their own sources.
No Dagster and no DuckDB here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sources import fingertips as ft
from sources.http import FetchError
from sources.inputs import InputFile, SourceFormatError

SELECTION_PATH = Path(__file__).resolve().parent / "fingertips_selection.toml"
SELECTION_ENV = "OBSERVATORY_FINGERTIPS_SELECTION"  # another selection file (e.g. a user's own copy)
SOURCE_ID = "fingertips_selection"
MANIFEST_NAME = "fingertips_selection_indicators.json"
# Confidence-interval methods computed from a count and a denominator (so members' counts can be summed).
COUNT_BASED_CI = ("byar", "wilson", "poisson", "exact binomial", "clopper", "score")
# Methods for values that cannot be rebuilt from counts (standardised rates, life tables, modelled estimates).
WEIGHTED_CI = ("dobson", "chiang", "standardis", "standardiz", "modelled", "survey")


@dataclass(frozen=True)
class Selection:
    profiles: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    child_area_type_id: int = 501  # districts and unitary authorities (post-4/23)
    parent_area_type_id: int = 6  # regions


def selection_path() -> Path:
    """The selection file: ``$OBSERVATORY_FINGERTIPS_SELECTION`` when set, else the bundled ``fingertips_selection.toml``."""
    return Path(os.environ[SELECTION_ENV]) if os.environ.get(SELECTION_ENV) else SELECTION_PATH


def load_selection(path: Path | None = None) -> Selection:
    """The user's selection (an absent file selects nothing)."""
    path = selection_path() if path is None else path
    if not path.exists():
        return Selection()
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    unknown = set(raw) - {"profiles", "indicators", "child_area_type_id", "parent_area_type_id"}
    if unknown:
        raise ValueError(f"{path.name}: unknown setting(s) {sorted(unknown)}; expected profiles, indicators, child_area_type_id, parent_area_type_id")
    return Selection(tuple(str(p) for p in raw.get("profiles", ())), tuple(str(i) for i in raw.get("indicators", ())),
                     int(raw.get("child_area_type_id", 501)), int(raw.get("parent_area_type_id", 6)))


def profile_ids(client: ft.FingertipsClient, names: tuple[str, ...]) -> dict[str, int]:
    """Each named profile (key such as ``PHOF``, name, or numeric id) -> its Fingertips profile id."""
    if not names:
        return {}
    profiles = client.profiles()
    out = {}
    for name in names:
        wanted = name.strip().lower()
        hits = [p for p in profiles if wanted in {str(p.get("Id", "")).lower(), str(p.get("Key", "")).lower(), str(p.get("Name", "")).lower()}]
        if len(hits) != 1:
            near = [f"{p.get('Key')} ({p.get('Name')}, id {p.get('Id')})" for p in profiles if wanted in str(p.get("Name", "")).lower()][:6]
            raise FetchError(f"Fingertips profile {name!r} {'is ambiguous' if hits else 'not found'}; "
                             f"{'candidates: ' + '; '.join(near) if near else 'use a key such as PHOF or a numeric id'}")
        out[name] = int(hits[0]["Id"])
    return out


def _metadata_rows(fetched) -> dict[str, dict[str, str]]:
    table = ft.read_csv_table(fetched.content, fetched.url, ["Indicator ID", "Indicator"])
    return {r[table.header.index("Indicator ID")].strip(): dict(zip(table.header, r)) for _, r in table.records}


def aggregation_for(value_type: str, ci_method: str, rules: dict[str, ft.AggregationRule]) -> str:
    """How values may be combined across areas: the value type's rule, else what the CI method implies."""
    rule = rules.get((value_type or "").strip().lower())
    if rule is not None:
        return rule.aggregation
    method = (ci_method or "").lower()
    kind = (value_type or "").lower()
    if any(k in method for k in WEIGHTED_CI) or any(k in kind for k in ("standardised", "life expectancy", "modelled")):
        return "population_weighted"
    if any(k in method for k in COUNT_BASED_CI) and any(k in kind for k in ("crude rate", "proportion", "percentage", "count")):
        return "counts_and_denominators"
    return "none"


def indicator_from_metadata(row: dict[str, str], meta: dict, rules: dict[str, ft.AggregationRule]) -> ft.Indicator:
    """A catalogue entry from the publisher's metadata (CSV row + JSON entry of one indicator)."""
    value_type = (row.get("Value type") or ((meta.get("ValueType") or {}).get("Name")) or "").strip()
    ci_method = ((meta.get("ConfidenceIntervalMethod") or {}).get("Name") or row.get("Confidence interval details") or "").strip()
    unit = (row.get("Unit") or (meta.get("Unit") or {}).get("Label") or "").strip()
    multiplier = (meta.get("Unit") or {}).get("Value")
    if not multiplier:
        found = re.search(r"per\s+([\d,]+)", unit)
        multiplier = float(found.group(1).replace(",", "")) if found else (100.0 if "%" in unit else None)
    aggregation = aggregation_for(value_type, ci_method, rules)
    if aggregation == "counts_and_denominators" and not multiplier:
        aggregation = "population_weighted"  # without the multiplier the rate cannot be rebuilt from counts
    name = (row.get("Indicator") or (meta.get("Descriptive") or {}).get("Name") or "").strip()
    return ft.Indicator(
        id=str(row.get("Indicator ID") or meta.get("IID")).strip(), name=name,
        short_name=(row.get("Simple Name") or name).strip(), definition=(row.get("Definition") or "").strip(),
        unit=unit, polarity=ft.polarity_of(row.get("Polarity")), value_type=value_type.lower(), age="all",
        year_type=(row.get("Year type") or "calendar").strip().lower(), aggregation=aggregation,
        multiplier=float(multiplier) if multiplier else None, ci_method=ci_method or None)


def resolve_selection(client: ft.FingertipsClient, selection: Selection,
                      rules: dict[str, ft.AggregationRule] | None = None) -> list[ft.Indicator]:
    """Every selected indicator (profiles' and listed ids, each once, in that order) with its metadata."""
    rules = {k.lower(): v for k, v in (ft.catalogue().rules if rules is None else rules).items()}
    rows: dict[str, dict[str, str]] = {}
    for pid in profile_ids(client, selection.profiles).values():
        rows.update(_metadata_rows(client.profile_metadata_csv(pid)))
    listed = [i for i in dict.fromkeys(selection.indicators) if i not in rows]
    for fetched in client.indicator_metadata_csv(listed) if listed else []:
        rows.update({k: v for k, v in _metadata_rows(fetched).items() if k in listed})
    missing = [i for i in listed if i not in rows]
    if missing:
        raise FetchError(f"Fingertips has no metadata for indicator(s) {missing}: retired or mistyped? (sources/fingertips_selection.toml)")
    meta = client.indicator_metadata_json(list(rows))
    return [indicator_from_metadata(row, meta.get(i, {}), rules) for i, row in rows.items()]


def changed_since(client: ft.FingertipsClient, indicators: list[ft.Indicator], seen: dict[str, str]) -> list[str]:
    """Ids whose ``data_changes`` stamp differs from ``seen`` (id -> stamp of the last landing): one probe each."""
    return [ind.id for ind in indicators if client.data_changes(ind.id) != seen.get(ind.id)]


def fetch(client: ft.FingertipsClient, ids: list[str], selection: Selection, require_all: bool = True):
    """The data of ``ids`` (``all_data/csv/by_indicator_id``, at most 100 ids per request)."""
    return client.all_data(ids, selection.child_area_type_id, selection.parent_area_type_id, require_all=require_all)


# --- what live mode lands, and how the build reads it back ----------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """The landed selection: each indicator's catalogue entry, its probe stamp and the file holding its data."""

    indicators: tuple[ft.Indicator, ...]
    stamps: dict[str, str | None]
    data_sha256: dict[str, str | None]  # None: the API has no rows for it at the selection's area types


def manifest_bytes(selection: Selection, indicators: list[ft.Indicator], stamps: dict[str, str | None],
                   data_sha256: dict[str, str | None]) -> bytes:
    """The manifest as landed: sorted JSON with no clock in it, so an unchanged selection lands the same file."""
    body = {"selection": dataclasses.asdict(selection),
            "indicators": [{**dataclasses.asdict(i), "data_changes": stamps.get(i.id), "data_sha256": data_sha256.get(i.id)}
                           for i in indicators]}
    return (json.dumps(body, indent=1, sort_keys=True, default=list) + "\n").encode()


def read_manifest(data: bytes, label: str) -> Manifest:
    """A landed manifest back as catalogue entries (checked like the hand-made catalogue: polarity, aggregation)."""
    try:
        rows = json.loads(data)["indicators"]
    except (ValueError, KeyError, TypeError) as err:
        raise SourceFormatError(f"{label}: not a Fingertips selection manifest ({err})") from None
    fields = {f.name for f in dataclasses.fields(ft.Indicator)}
    indicators, stamps, shas = [], {}, {}
    for row in rows:
        item = {k: v for k, v in row.items() if k in fields}
        item["aliases"] = tuple(item.get("aliases") or ())
        ind = ft.Indicator(**item)
        if ind.polarity not in ft.POLARITIES or ind.aggregation not in ft.AGGREGATIONS:
            raise SourceFormatError(f"{label}: indicator {ind.id} has polarity {ind.polarity!r} / aggregation {ind.aggregation!r}")
        if ind.aggregation == "counts_and_denominators" and not ind.multiplier:
            raise SourceFormatError(f"{label}: indicator {ind.id} aggregates counts but has no multiplier")
        indicators.append(ind)
        stamps[ind.id] = row.get("data_changes")
        shas[ind.id] = row.get("data_sha256")
    return Manifest(tuple(indicators), stamps, shas)


def to_fetch(indicators: list[ft.Indicator], stamps: dict[str, str | None], previous: Manifest | None,
             landed: set[str]) -> list[str]:
    """Ids to download: probe failed (None), stamp differs from the last landing, or that landing's file is gone."""
    if previous is None:
        return [i.id for i in indicators]
    return [i.id for i in indicators
            if stamps.get(i.id) is None or previous.stamps.get(i.id) != stamps[i.id]
            or i.id not in previous.data_sha256 or (previous.data_sha256[i.id] is not None and previous.data_sha256[i.id] not in landed)]


def extend(cat: ft.Catalogue, indicators: tuple[ft.Indicator, ...] | list[ft.Indicator]) -> ft.Catalogue:
    """The catalogue the build uses: the hand-made one plus the selection's indicators (hand-made entries win)."""
    extra = {i.id: i for i in indicators if i.id not in cat.indicators}
    return dataclasses.replace(cat, indicators={**cat.indicators, **extra})


def current_rows(frame: pd.DataFrame, manifest: Manifest, sha256: str) -> pd.DataFrame:
    """The rows of one landed data file that are its indicators' current data (a later file may supersede some)."""
    keep = frame["indicator_id"].map(manifest.data_sha256.get) == sha256
    return frame[keep].reset_index(drop=True)


def metadata_frame(manifest: Manifest, f: InputFile) -> pd.DataFrame:
    """The manifest's publisher metadata in :func:`sources.fingertips.parse_metadata`'s columns (definitions credit it)."""
    return pd.DataFrame([{
        "indicator_id": i.id, "name": i.name, "definition": i.definition, "unit": i.unit, "value_type": i.value_type,
        "polarity": i.polarity, "polarity_text": i.polarity, "year_type": i.year_type, "date_updated": manifest.stamps.get(i.id),
        "source_id": f.source_id, "source_sha256": f.sha256, "source_locator": f"{f.path.name}, indicator {i.id}",
    } for i in manifest.indicators], columns=["indicator_id", "name", "definition", "unit", "value_type", "polarity", "polarity_text",
                                              "year_type", "date_updated", "source_id", "source_sha256", "source_locator"])
