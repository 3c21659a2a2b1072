"""Exports: every published table as Parquet or CSV, with a Frictionless ``datapackage.json``.

The package descriptor is generated from the metadata registry (field descriptions, units, types,
constraints, primary keys) and the snapshot catalogue (sources and licences), so a downstream tool
(a Spark or Trino job, a Frictionless validator, a data portal) gets the same words as the
warehouse's own comments. Tables are written by DuckDB's ``COPY`` straight from the published file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sources.catalogue import catalogue
from warehouse.engine.ddl import column_comment, quote_ident, quote_literal
from warehouse.engine.output_guard import MARKER, has_marker, write_atomic, write_text_atomic
from warehouse.engine.queries import published_tables
from warehouse.engine.registry import REGISTRY, Field, Table

FORMATS = ("parquet", "csv")
_FRICTIONLESS_TYPE = {
    "text": "string", "integer": "integer", "bigint": "integer", "double": "number",
    "date": "date", "timestamp": "datetime", "boolean": "boolean",
}
# How a NULL reads back, per format: DuckDB writes it to CSV as an empty field; Parquet keeps a real null, but
# readers that go through pandas (frictionless among them) turn a null in a number or integer column into the
# float NaN, which they print as "nan". Declaring both keeps a NULL a missing value, not a type error.
MISSING_VALUES = {"csv": [""], "parquet": ["", "nan", "NaN"]}
_LICENCE_INFO = {
    "OGL-UK-3.0": ("Open Government Licence v3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"),
    "CC-BY-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
}


@dataclass(frozen=True)
class ExportReport:
    out_dir: Path
    tables: dict[str, int]
    descriptor: Path


def _field_descriptor(f: Field) -> dict:
    constraints: dict = {"required": not f.nullable}
    if f.allowed is not None:
        constraints["enum"] = list(f.allowed)
    if f.ge is not None:
        constraints["minimum"] = f.ge if f.dtype in ("double",) else int(f.ge)
    if f.le is not None:
        constraints["maximum"] = f.le if f.dtype in ("double",) else int(f.le)
    if f.pattern is not None:
        constraints["pattern"] = f.pattern.removeprefix("^").removesuffix("$")
    if f.unique:
        constraints["unique"] = True
    descriptor = {"name": f.name, "type": _FRICTIONLESS_TYPE[f.dtype], "description": column_comment(f), "constraints": constraints}
    if f.unit:
        descriptor["unit"] = f.unit  # not in the Table Schema spec; kept as a custom property, as the spec allows
    if f.dtype == "timestamp":
        descriptor["format"] = "%Y-%m-%d %H:%M:%S"
    return descriptor


def _licences(source_ids) -> list[dict]:
    seen, out = set(), []
    cat = catalogue()
    for source_id in source_ids:
        e = cat.get(source_id)
        if e is None or e.licence in seen:
            continue
        seen.add(e.licence)
        title, path = _LICENCE_INFO.get(e.licence, (e.licence, ""))
        out.append({"name": e.licence, "title": title, "path": path})
    return out or [{"name": "OGL-UK-3.0", "title": _LICENCE_INFO["OGL-UK-3.0"][0], "path": _LICENCE_INFO["OGL-UK-3.0"][1]}]


def _resource(t: Table, path: str, fmt: str) -> dict:
    cat = catalogue()
    resource = {
        "name": t.name,
        "path": path,
        "profile": "tabular-data-resource",
        "format": fmt,
        "mediatype": "text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
        "description": t.description,
        "schema": {"fields": [_field_descriptor(f) for f in t.fields], "primaryKey": list(t.primary_key),
                   "missingValues": MISSING_VALUES[fmt]},
        "sources": [{"title": cat[s].title, "path": cat[s].url} for s in t.sources if s in cat],
        "licenses": _licences(t.sources),
    }
    if fmt == "csv":
        resource["encoding"] = "utf-8"
        resource["dialect"] = {"delimiter": ",", "header": True}
    return resource


def targets(out_dir: Path, fmt: str) -> list[Path]:
    """Every file an export into ``out_dir`` may write (one per registry table, and the descriptor)."""
    return [*(out_dir / f"{name}.{fmt}" for name in sorted(REGISTRY)), out_dir / "datapackage.json"]


def written_by_export(path: Path) -> bool:
    """True when ``path`` is a file an earlier export wrote (the folder's descriptor carries the observatory's marker)."""
    return has_marker(path.parent / "datapackage.json")


def export(published: Path, out_dir: Path, fmt: str = "parquet") -> ExportReport:
    """Write every registry table present in ``published`` to ``out_dir`` as ``fmt`` plus ``datapackage.json``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(published), read_only=True)
    try:
        present = set(published_tables(con))
        tables = [REGISTRY[name] for name in sorted(present) if name in REGISTRY]
        counts, resources = {}, []
        for t in tables:
            target = out_dir / f"{t.name}.{fmt}"
            columns = ", ".join(
                f"strftime({quote_ident(f.name)}, '%Y-%m-%d %H:%M:%S') AS {quote_ident(f.name)}" if f.dtype == "timestamp" and fmt == "csv"
                else quote_ident(f.name)
                for f in t.fields
            )
            order = ", ".join(quote_ident(k) for k in t.primary_key) or "ALL"
            options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
            with write_atomic(target) as tmp:  # a failed COPY leaves the previous export's file as it was
                con.execute(f"COPY (SELECT {columns} FROM {quote_ident(t.name)} ORDER BY {order}) TO {quote_literal(str(tmp))} ({options})")
            counts[t.name] = con.execute(f"SELECT count(*) FROM {quote_ident(t.name)}").fetchall()[0][0]
            resources.append(_resource(t, target.name, fmt))
    finally:
        con.close()
    all_sources = sorted({s for t in tables for s in t.sources})
    descriptor = {
        "profile": "tabular-data-package",
        "name": "northern-health-wealth-observatory",
        "x-generator": MARKER,
        "title": "Northern Health & Wealth Observatory",
        "description": "Public health, economy, deprivation and research-funding data for the North of England, with provenance. Generated from the observatory's metadata registry.",
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "licenses": _licences(all_sources),
        "sources": [{"title": catalogue()[s].title, "path": catalogue()[s].url} for s in all_sources if s in catalogue()],
        "resources": resources,
    }
    descriptor_path = out_dir / "datapackage.json"
    write_text_atomic(descriptor_path, json.dumps(descriptor, indent=2, ensure_ascii=False))
    return ExportReport(out_dir, counts, descriptor_path)
