"""Health assets: Fingertips files landed raw, then the core health tables, benchmarks and area profiles.

* One raw asset per source in `sources/fingertips_indicators.toml`. Offline it lands the bundled file;
  live (``SourcesResource.mode == "live"``) it asks the change probe (``data_changes``) first and, when
  the indicators are unchanged since the last landing, reuses that landing; otherwise it fetches
  ``all_data/csv/by_indicator_id`` (or the indicator metadata), checks the CSV parses, and lands it
  with its URL as origin. Live-only sources (under-75 mortality by cause, metadata) land nothing offline.
* ``core_health``: values, aggregates, definitions and inequalities, loaded in one transaction.
* ``health_marts``: benchmarks against England and region, then the area profile (SQL in `warehouse/transforms/sql`).
* ``raw_fingertips__selection`` (live only): the profiles and ids named in ``sources/fingertips_selection.toml``
  beyond the catalogued ones, landed with a manifest of their metadata (see :mod:`sources.fingertips_selection`);
  ``core_health`` builds them with the catalogue extended by that manifest.
* ``weekly_fingertips_refresh``: in live mode, runs ``refresh_health`` only when the probe reports a change.
"""


import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from pipelines import offload
from pipelines.assets._factory import RawFile, blocking_check, input_file, load_tables, parse, raw_file_asset, table_asset, table_spec, warning_check
from pipelines.resources import SourcesResource, WarehouseResource
from sources import files
from sources import fingertips as ft
from sources import fingertips_selection as selection
from sources.catalogue import entry
from sources.http import FetchError
from sources.inputs import InputFile
from sources.landing import LandedFile, land_file
from warehouse.engine import queries
from warehouse.engine.ddl import quote_ident
from warehouse.engine.registry import REGISTRY
from warehouse.transforms import health

GROUP = "health"
CORE = ["core_health__indicator_values", "core_health__indicator_aggregates", "core_health__indicator_definitions", "core_health__inequalities",
        "core_health__indicator_vintages", "core_indicators__aggregate_coverage"]
MARTS = ["mart_indicators__benchmarks", "mart_area_profile"]
GEO = ["core_geo__areas", "core_geo__former_areas", "core_geo__area_membership", "core_geo__lad_footprints"]
SOURCES = ft.catalogue().sources
STATE_FILE = "fingertips_data_changes.json"
# Area type ids are reused across boundary vintages, so the live client checks each id's name first.
AREA_TYPE_NAMES = {501: r"Districts & UAs.*2023", 502: r"Counties & UAs.*2023", 401: r"Districts & UAs.*2021",
                   402: r"Counties & UAs.*2021", 6: r"Region", 15: r"England"}


# --- raw: bundled file offline, the API live -------------------------------------------------------------------


def state_path(warehouse: WarehouseResource) -> Path:
    return warehouse.paths.build_dir / STATE_FILE


def load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_text(path, json.dumps(state, indent=2, default=str))


def _landed_from_state(rows: list[dict]) -> list[LandedFile]:
    return [LandedFile(**{**r, "retrieved_at": dt.datetime.fromisoformat(r["retrieved_at"])}) for r in rows]


def probe(client: ft.FingertipsClient, src: ft.Source, log=None) -> dict[str, str | None]:
    """The change probe for a source's indicators: id -> last upload time (None when the probe failed)."""
    changes: dict[str, str | None] = {}
    for indicator_id in src.indicators:
        try:
            changes[indicator_id] = client.data_changes(indicator_id)
        except FetchError as err:
            if log:
                log.warning(f"change probe for {indicator_id} failed, fetching anyway: {err}")
            changes[indicator_id] = None
    return changes


def land_live(src: ft.Source, warehouse: WarehouseResource, client: ft.FingertipsClient, log) -> tuple[list[LandedFile], bool]:
    """Fetch ``src`` from the API and land it (or reuse the last landing when the probe says nothing changed).

    Returns the landed files and whether they are new. Nothing is landed unless every batch was
    fetched whole and parses, so a failure part-way leaves the landing store and state as they were.
    """
    cat = ft.catalogue()
    state_file = state_path(warehouse)
    changes = probe(client, src, log) if src.indicators else {}
    previous = load_state(state_file).get(src.source_id)
    if previous and changes and None not in changes.values() and previous.get("changes") == changes:
        landed = _landed_from_state(previous["landed"])
        if all(f.path(warehouse.paths.data).exists() for f in landed):
            log.info(f"{src.source_id}: unchanged since {', '.join(sorted(set(changes.values())))}; reusing the last landing")
            return landed, False
    indicators = [cat.indicator(i) for i in src.indicators] if src.indicators else list(cat.indicators.values())
    ids = client.resolve(indicators)
    if src.metadata:
        fetched = client.indicator_metadata_csv(ids)
        check = ft.parse_metadata_bytes
    else:
        client.check_area_types({t: AREA_TYPE_NAMES[t] for t in (src.child_area_type_id, src.parent_area_type_id) if t in AREA_TYPE_NAMES})
        fetched = client.all_data(ids, src.child_area_type_id, src.parent_area_type_id)
        check = ft.parse_fingertips_bytes
    names = [f"{src.source_id}.csv" if len(fetched) == 1 else f"{src.source_id}_{i + 1}.csv" for i in range(len(fetched))]
    for got, name in zip(fetched, names):
        check(got.content, InputFile(src.source_id, Path(name), hashlib.sha256(got.content).hexdigest()))
    landing = warehouse.paths.landing
    landing.mkdir(parents=True, exist_ok=True)
    landed = []
    for got, name in zip(fetched, names):
        tmp = landing / f".download-{src.source_id}-{os.getpid()}"
        tmp.write_bytes(got.content)
        try:
            landed.append(land_file(tmp, source_id=src.source_id, origin=got.url, mode="live", landing_root=landing,
                                    file_name=name))
        finally:
            tmp.unlink(missing_ok=True)
    state = load_state(state_file)
    state[src.source_id] = {"changes": changes, "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            "landed": [{**f.provenance_row(), "retrieved_at": f.retrieved_at.isoformat()} for f in landed]}
    save_state(state_file, state)
    return landed, True


def _fetch(src: ft.Source):
    """The live fetch of a Fingertips source: the change probe first, then the API (see :func:`land_live`)."""
    def fetch(context: AssetExecutionContext, warehouse: WarehouseResource) -> list[LandedFile]:
        return land_live(src, warehouse, ft.FingertipsClient(), context.log)[0]
    return fetch


# An earlier vintage (`archive`) is only ever the bundled file: the API serves the current vintage alone.
RAW_FILES = [RawFile(src.asset, src.source_id, live=None if src.archive else _fetch(src), many=True,
                     parser=ft.parse_metadata if src.metadata else ft.parse) for src in SOURCES]


# --- raw: the user's selection of profiles and ids (sources/fingertips_selection.toml), live only ------------------

SELECTION_ASSET = "raw_fingertips__selection"


def _landed_manifest(warehouse: WarehouseResource) -> tuple[selection.Manifest | None, dict[str, LandedFile]]:
    """The last landed selection manifest and the data files it may point at (sha256 -> file), from the state file."""
    previous = load_state(state_path(warehouse)).get(selection.SOURCE_ID)
    if not previous:
        return None, {}
    manifest_file, = _landed_from_state([previous["manifest"]])
    path = manifest_file.path(warehouse.paths.data)
    if not path.exists():
        return None, {}
    data = {f.sha256: f for f in _landed_from_state(previous["data"]) if f.path(warehouse.paths.data).exists()}
    return selection.read_manifest(path.read_bytes(), manifest_file.label), data


def _land_bytes(content: bytes, name: str, origin: str, warehouse: WarehouseResource) -> LandedFile:
    landing = warehouse.paths.landing
    landing.mkdir(parents=True, exist_ok=True)
    tmp = landing / f".download-{selection.SOURCE_ID}-{os.getpid()}"
    files.write_bytes(tmp, content)
    try:
        return land_file(tmp, source_id=selection.SOURCE_ID, origin=origin, mode="live", landing_root=landing, file_name=name)
    finally:
        tmp.unlink(missing_ok=True)


def land_selection(warehouse: WarehouseResource, client: ft.FingertipsClient, log) -> list[LandedFile]:
    """Resolve the selection, probe each indicator, fetch the changed ones (<= 100 ids a request) and land them.

    Lands the data batches and the manifest (indicators' metadata, probe stamps, which file holds each
    indicator's current data); unchanged indicators keep the files of the last landing. Nothing is landed
    unless every batch was fetched whole and parses. Returns the manifest and every data file it names.
    """
    chosen = selection.load_selection()
    catalogued = ft.catalogue().indicators
    indicators = [i for i in selection.resolve_selection(client, chosen) if i.id not in catalogued]
    if not indicators:
        log.info(f"{selection.SOURCE_ID}: nothing selected beyond the catalogued indicators ({selection.selection_path().name})")
        return []
    stamps = probe(client, ft.Source(SELECTION_ASSET, selection.SOURCE_ID, tuple(i.id for i in indicators)), log)
    previous, kept = _landed_manifest(warehouse)
    wanted = selection.to_fetch(indicators, stamps, previous, set(kept))
    fetched = []
    if wanted:
        client.check_area_types({t: AREA_TYPE_NAMES[t] for t in (chosen.child_area_type_id, chosen.parent_area_type_id) if t in AREA_TYPE_NAMES})
        fetched = selection.fetch(client, wanted, chosen, require_all=False)
    batches = []
    for n, got in enumerate(fetched, 1):
        name = f"{selection.SOURCE_ID}_{n}.csv"
        frame = ft.parse_fingertips_bytes(got.content, InputFile(selection.SOURCE_ID, Path(name), hashlib.sha256(got.content).hexdigest()))
        batches.append((got, name, set(frame["indicator_id"])))
    data_sha = {i.id: previous.data_sha256.get(i.id) for i in indicators if i.id not in wanted} if previous else {}
    landed = dict(kept)
    for got, name, ids in batches:
        f = _land_bytes(got.content, name, got.url, warehouse)
        landed[f.sha256] = f
        data_sha.update({i: f.sha256 for i in ids if i in wanted})
    absent = [i for i in wanted if i not in data_sha]
    if absent:
        log.warning(f"{selection.SOURCE_ID}: no data at area types {chosen.child_area_type_id}/{chosen.parent_area_type_id} for {len(absent)} "
                    f"selected indicator(s): {', '.join(absent[:20])}")
    manifest = _land_bytes(selection.manifest_bytes(chosen, indicators, stamps, data_sha), selection.MANIFEST_NAME,
                           f"{client.url}indicator_metadata (profiles {', '.join(chosen.profiles) or 'none'}; "
                           f"{len(indicators)} indicators)", warehouse)
    current = [landed[sha] for sha in dict.fromkeys(v for v in data_sha.values() if v)]
    log.info(f"{selection.SOURCE_ID}: {len(indicators)} indicators, {len(wanted)} fetched in {len(fetched)} request(s), "
             f"{len(indicators) - len(wanted)} unchanged")
    state = load_state(state_path(warehouse))
    state[selection.SOURCE_ID] = {"changes": stamps, "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                  "manifest": {**manifest.provenance_row(), "retrieved_at": manifest.retrieved_at.isoformat()},
                                  "data": [{**f.provenance_row(), "retrieved_at": f.retrieved_at.isoformat()} for f in current]}
    save_state(state_path(warehouse), state)
    return [manifest, *current]


def _fetch_selection(context: AssetExecutionContext, warehouse: WarehouseResource) -> list[LandedFile]:
    return land_selection(warehouse, ft.FingertipsClient(), context.log)


RAW_FILES.append(RawFile(SELECTION_ASSET, selection.SOURCE_ID, live=_fetch_selection, many=True))
raw_assets = [raw_file_asset("fingertips_files", GROUP, RAW_FILES)]


# --- checks --------------------------------------------------------------------------------------------------------------


def _sample(frame: pd.DataFrame, columns: list[str]) -> str:
    return frame[columns].head(5).to_string(index=False) if not frame.empty else "none"


def _ci_check(table: str):
    shown = ["indicator_id", "area_code", "period_label", "value", "lower_ci_95", "upper_ci_95"]  # the failing rows' sample
    wanted = dict.fromkeys([*shown, *(limit for pair in health.CI_LIMITS for limit in pair)])
    columns = ", ".join(quote_ident(c) for c in wanted if c in REGISTRY[table].column_names)  # what the check and its sample read

    @blocking_check(asset=table, name="confidence_intervals_not_inverted",
                 description="No row has lower CI > value, value > upper CI, or lower > upper (95% and 99.8%).")
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        frame = warehouse.read(f"SELECT {columns} FROM {quote_ident(table)}")
        bad = health.inverted_cis(frame)
        return AssetCheckResult(passed=bad.empty, metadata={
            "inverted": len(bad), "first": _sample(bad, shown)})
    return _check


CI_CHECKS = [_ci_check("core_health__indicator_values"), _ci_check("core_health__indicator_aggregates")]


@blocking_check(asset="core_health__indicator_values",
             description="Every area code is a GSS code the geography knows and, for LADs and counties, was valid on 1 April of the row's boundary vintage.")
def codes_valid_for_their_vintage(warehouse: WarehouseResource) -> AssetCheckResult:
    values = warehouse.read("SELECT indicator_id, area_code, period_label, geography_vintage FROM core_health__indicator_values")
    bad = health.invalid_codes(values, warehouse.read("SELECT * FROM core_geo__areas_all"))
    return AssetCheckResult(passed=bad.empty, metadata={
        "invalid": len(bad), "first": _sample(bad, ["indicator_id", "area_code", "period_label", "geography_vintage", "reason"])})


@blocking_check(asset="core_health__indicator_values",
             description="No period covers fewer areas than the period before it (per indicator, sex and age), counting abolished codes as their successors.")
def no_period_with_fewer_areas(warehouse: WarehouseResource) -> AssetCheckResult:
    values = warehouse.read("SELECT indicator_id, area_code, sex, age, period_label, period_start, period_end FROM core_health__indicator_values")
    bad = health.shrinking_periods(values, warehouse.read("SELECT * FROM core_geo__area_membership"))
    return AssetCheckResult(passed=bad.empty, metadata={"shrinking_periods": len(bad), "first": _sample(bad, list(bad.columns))})


@warning_check(asset="mart_indicators__benchmarks",
             description="Where both exist, the CI-based comparison agrees with the publisher's own in at least 95% of rows (warns otherwise).")
def benchmarks_agree_with_publisher(warehouse: WarehouseResource) -> AssetCheckResult:
    row = warehouse.read("""SELECT count(*) AS n, count(*) FILTER (WHERE agrees_with_publisher) AS agree
                            FROM mart_indicators__benchmarks WHERE agrees_with_publisher IS NOT NULL""").iloc[0]
    n, agree = int(row["n"]), int(row["agree"])
    share = agree / n if n else 1.0
    return AssetCheckResult(passed=share >= 0.95, severity=AssetCheckSeverity.WARN,
                            metadata={"compared": n, "agree": agree, "share": round(share, 4)})


# --- core -------------------------------------------------------------------------------------------------------------


@table_asset(
    specs=[table_spec(name, deps=[*(s.asset for s in SOURCES), SELECTION_ASSET, *GEO, "core_population__estimates"], group=GROUP) for name in CORE],
    checks=[*CI_CHECKS, codes_valid_for_their_vintage, no_period_with_fewer_areas],
    ins={**{src.asset: AssetIn(src.asset) for src in SOURCES}, SELECTION_ASSET: AssetIn(SELECTION_ASSET)},
)
def core_health(context: AssetExecutionContext, warehouse: WarehouseResource, **landed: list[LandedFile]):
    """Fingertips values (headline and inequalities), aggregates for combined authorities, regions and groups, and definitions."""
    by_source = {src.source_id: src for src in SOURCES}
    selected = landed.pop(SELECTION_ASSET, None) or []  # the user's selection: a manifest + data batches (live only)
    inputs = [f for files in landed.values() for f in (files or [])]

    def build() -> dict[str, pd.DataFrame]:
        data_files = [f for f in inputs if not by_source[f.source_id].metadata and not by_source[f.source_id].archive]
        meta_files = [f for f in inputs if by_source[f.source_id].metadata]
        archived = [f for f in inputs if by_source[f.source_id].archive]
        parsed = [parse(f, warehouse) for f in data_files]
        catalogued = {s.source_id: entry(s.source_id) for s in SOURCES if not s.live_only}
        vintages = [(parse(f, warehouse), catalogued[f.source_id].published if catalogued[f.source_id].sha256 == f.sha256 else None,
                     catalogued[f.source_id].title) for f in archived]
        # a file's publication date only when it is the catalogued file itself (an edited or live copy has none)
        published = {f.source_id: catalogued[f.source_id].published or None for f in inputs
                     if f.source_id in catalogued and catalogued[f.source_id].sha256 == f.sha256}
        metadata = pd.concat([parse(f, warehouse) for f in meta_files], ignore_index=True) if meta_files else None
        credits = {}
        for f in [*inputs, *selected]:
            credits[f.source_id] = (f.publisher, f.licence)
        cat = ft.catalogue()
        manifests = [f for f in selected if f.file_name == selection.MANIFEST_NAME]
        for m in manifests:  # the selection's indicators, with the metadata landed beside their data
            manifest = selection.read_manifest(input_file(m, warehouse).path.read_bytes(), m.label)
            cat = selection.extend(cat, manifest.indicators)
            parsed += [selection.current_rows(ft.parse(input_file(f, warehouse)), manifest, f.sha256) for f in selected if f not in manifests]
            described = selection.metadata_frame(manifest, input_file(m, warehouse))
            metadata = described if metadata is None else pd.concat([metadata, described], ignore_index=True)
        frames = health.build_health(
            parsed, cat,
            areas=warehouse.read("SELECT * FROM core_geo__areas_all"),
            footprints=warehouse.read("SELECT * FROM core_geo__lad_footprints"),
            membership=warehouse.read("SELECT * FROM core_geo__area_membership"),
            population=warehouse.read("SELECT area_code, year, sex, age, population FROM core_population__estimates WHERE sex = 'persons' AND age = 'all'"),
            credits=credits, metadata=metadata, vintages=vintages, published=published,
            beside=offload.beside,  # the earlier vintages are built in a helper while the current aggregates are built here
        )
        return {name: frames[name] for name in CORE}  # loaded in one transaction: a bad file loads none of them

    yield from load_tables(context, warehouse, [*inputs, *selected], build, reads=[*GEO, "core_population__estimates"])


# --- marts -------------------------------------------------------------------------------------------------------------

MART_READS = ["core_indicators__values", "core_indicators__definitions", "core_health__indicator_values", *GEO]
MART_SQL = {"mart_indicators__benchmarks": "health_benchmarks", "mart_area_profile": "health_area_profile"}


@table_asset(
    specs=[table_spec(name, deps=MART_READS, group=GROUP) for name in MARTS],
    checks=[benchmarks_agree_with_publisher],
)
def health_marts(context: AssetExecutionContext, warehouse: WarehouseResource):
    """Benchmarks against England and region for every indicator value, then the area profile built on them."""

    def build() -> Iterator[tuple[str, pd.DataFrame]]:
        for name in MARTS:  # the profile reads the benchmarks, so they are loaded first
            yield name, warehouse.read(queries.sql_text(MART_SQL[name]))

    yield from load_tables(context, warehouse, [], build, reads=MART_READS)


# --- job and the weekly schedule ---------------------------------------------------------------------------------------

refresh_health = define_asset_job(
    "refresh_health",
    selection=AssetSelection.groups(GROUP).downstream(),
    description="Refresh the Fingertips indicators (and what is built on them), then publish.",
)


@schedule(job=refresh_health, cron_schedule="0 6 * * 1", execution_timezone="Europe/London", name="weekly_fingertips_refresh",
          description="Mondays 06:00: in live mode, asks Fingertips' change probe (data_changes) for every indicator and runs "
                      "refresh_health only if one has changed since it was last landed.")
def weekly_fingertips_refresh(context: ScheduleEvaluationContext, sources: SourcesResource, warehouse: WarehouseResource):
    if sources.mode != "live":
        return SkipReason("offline mode: the bundled snapshot only changes with the code (the monthly refresh covers it)")
    client = ft.FingertipsClient()
    state = load_state(state_path(warehouse))
    changed = {}
    for src in SOURCES:
        if not src.indicators or src.archive:  # an earlier vintage never changes
            continue
        before = state.get(src.source_id, {}).get("changes", {})
        for indicator_id, stamp in probe(client, src, context.log).items():
            if stamp is None or before.get(indicator_id) != stamp:
                changed[indicator_id] = stamp or "unknown"
    landed = state.get(selection.SOURCE_ID, {}).get("changes", {})  # the selection's indicators as last landed
    for indicator_id, stamp in probe(client, ft.Source(SELECTION_ASSET, selection.SOURCE_ID, tuple(landed)), context.log).items():
        if stamp is None or landed.get(indicator_id) != stamp:
            changed[indicator_id] = stamp or "unknown"
    if not changed:
        return SkipReason("no Fingertips indicator has changed since it was last landed")
    key = hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:16]
    return RunRequest(run_key=f"fingertips-{key}", tags={"observatory/changed_indicators": ",".join(sorted(changed))})


assets = [*raw_assets, core_health, health_marts]
checks = [*CI_CHECKS, codes_valid_for_their_vintage, no_period_with_fewer_areas, benchmarks_agree_with_publisher]
jobs = [refresh_health]
schedules = [weekly_fingertips_refresh]
