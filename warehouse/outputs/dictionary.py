"""The data dictionary (`docs/data_dictionary.md`), generated from the metadata registry.

Run ``observatory dictionary`` after changing the registry; a test fails while the file is stale.
Sections beyond the registry's tables (the indicator catalogue) are rendered here too, from their catalogues.
"""

from __future__ import annotations

from sources import fingertips
from sources.catalogue import catalogue
from warehouse.engine.ddl import duckdb_type, table_comment
from warehouse.engine.paths import REPO_ROOT
from warehouse.engine.registry import REGISTRY
from warehouse.engine.registry.health import POLARITY_WORDS

DICTIONARY_PATH = REPO_ROOT / "docs" / "data_dictionary.md"
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
            unions = [u.name for u in REGISTRY.values() if t.name in u.union_of]
            if unions:
                lines += [f"Feeds {', '.join(f'`{name}`' for name in unions)}.", ""]
            lines += ["| column | type | unit | nullable | description | allowed |", "|---|---|---|---|---|---|"]
            for f in t.fields:
                lines.append(f"| `{f.name}` | {duckdb_type(f)} | {_cell(f.unit or '')} | {'yes' if f.nullable else 'no'} | {_cell(f.description)} | {_cell(f.constraints_text())} |")
            if t.sources:
                lines += ["", "Sources:"]
                for source_id in t.sources:
                    e = cat.get(source_id)
                    lines.append(f"- `{source_id}`: {e.title}. {e.publisher}. Licence {e.licence}." if e else f"- `{source_id}`")
            lines.append("")
    lines += [fingertips_section().rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def fingertips_section() -> str:
    """The section that explains each catalogued Fingertips indicator and the aggregation rule of each value type."""
    cat = fingertips.catalogue()
    sources_of: dict[str, list[str]] = {}
    for src in cat.sources:
        for i in src.indicators:
            sources_of.setdefault(i, []).append(src.source_id + (" (live mode only)" if src.live_only else ""))
    polarity = POLARITY_WORDS
    lines = [
        "## Health indicators (OHID Fingertips)",
        "",
        f"From the catalogue `sources/{fingertips.CATALOGUE_PATH.name}`. All are published by the Office for Health Improvement and Disparities (Fingertips, https://fingertips.phe.org.uk) under the Open Government Licence v3.0 (`OGL-UK-3.0`); "
        "life expectancies are ONS figures. Ids marked *uncertain* are checked against the publisher's metadata in live mode and resolved by `indicator_search` if they do not match.",
        "",
        "| id | indicator | unit | polarity | value type | age | aggregation | definition | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ind in cat.indicators.values():
        ident = f"`{ind.id}`" + (" (uncertain)" if ind.id_confidence == "uncertain" else "")
        lines.append(
            f"| {ident} | {ind.name} ({ind.short_name}) | {ind.unit} | {polarity[ind.polarity]} | {ind.value_type} | {ind.age} | "
            f"{ind.aggregation.replace('_', ' ')} | {ind.definition.replace('|', '/')} | {', '.join(f'`{s}`' for s in sources_of.get(ind.id, []))} |"
        )
    lines += [
        "",
        "Aggregation: `counts and denominators` are recomputed for combined authorities, regions and groups as sum of counts over sum of denominators (95% CI by Byar's method); "
        "`population weighted` indicators (life expectancy, age-standardised rates, survey prevalences) get a population-weighted estimate labelled `population_weighted_estimate`. A figure the publisher gives for the area itself is always preferred. "
        "Which applies follows from the indicator's value type, by one rule each (never per indicator):",
        "",
        "| value type | aggregation | why |",
        "|---|---|---|",
        *(f"| {r.value_type} | {r.aggregation.replace('_', ' ')} | {r.why.replace('|', '/')} |" for r in cat.rules.values()),
        "",
        "Earlier vintages (archived files, landed into `core_health__indicator_vintages` and the value history): "
        + "; ".join(f"`{s.source_id}` ({', '.join(s.indicators)})" for s in cat.sources if s.archive) + ".",
    ]
    return "\n".join(lines)
