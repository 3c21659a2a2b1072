"""The data dictionary (`docs/data_dictionary.md`), generated from the metadata registry.

Run ``observatory dictionary`` after changing the registry; a test fails while the file is stale.
Domains may add sections (e.g. the indicator catalogue) by appending a callable returning
Markdown to :data:`EXTRA_SECTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable

from sources.catalogue import catalogue
from warehouse.engine.ddl import duckdb_type, table_comment
from warehouse.engine.paths import REPO_ROOT
from warehouse.engine.registry import REGISTRY

DICTIONARY_PATH = REPO_ROOT / "docs" / "data_dictionary.md"
from warehouse.outputs.dictionary_sections import EXTRA_SECTIONS  # noqa: E402  (a leaf module: registry modules append to it without an import cycle)
_LAYER_TITLES = {"raw": "Raw layer", "core": "Core layer: clean, typed, keyed, validated", "mart": "Marts: for analysts"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    cat = catalogue()
    lines = [
        "# Data dictionary",
        "",
        "Generated from the metadata registry (`warehouse/engine/registry/`) by `observatory dictionary`; do not edit by hand.",
        "Every core table also carries provenance columns: `source_id`, `source_sha256` (joins `core_provenance__files`) and `source_locator` (sheet and row, line, or page and table).",
        "",
    ]
    for layer in ("core", "mart"):
        tables = sorted((t for t in REGISTRY.values() if t.layer == layer), key=lambda t: t.name)
        if not tables:
            continue
        lines += [f"## {_LAYER_TITLES[layer]}", ""]
        for t in tables:
            lines += [f"### `{t.name}`", "", table_comment(t), ""]
            if t.notes:
                lines += [t.notes, ""]
            if t.extra.get("feeds"):
                lines += [f"Feeds `{t.extra['feeds']}`.", ""]
            lines += ["| column | type | unit | nullable | description | allowed |", "|---|---|---|---|---|---|"]
            for f in t.fields:
                lines.append(f"| `{f.name}` | {duckdb_type(f)} | {_cell(f.unit or '')} | {'yes' if f.nullable else 'no'} | {_cell(f.description)} | {_cell(f.constraints_text())} |")
            if t.sources:
                lines += ["", "Sources:"]
                for source_id in t.sources:
                    e = cat.get(source_id)
                    lines.append(f"- `{source_id}`: {e.title}. {e.publisher}. Licence {e.licence}." if e else f"- `{source_id}`")
            lines.append("")
    for section in EXTRA_SECTIONS:
        lines += [section().rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"
