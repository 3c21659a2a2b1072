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
No Dagster and no DuckDB here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sources import fingertips as ft
from sources.http import FetchError

SELECTION_PATH = Path(__file__).resolve().parent / "fingertips_selection.toml"
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


def load_selection(path: Path = SELECTION_PATH) -> Selection:
    """The user's selection (an absent file selects nothing)."""
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


def fetch(client: ft.FingertipsClient, ids: list[str], selection: Selection):
    """The data of ``ids`` (``all_data/csv/by_indicator_id``, at most 100 ids per request)."""
    return client.all_data(ids, selection.child_area_type_id, selection.parent_area_type_id)
