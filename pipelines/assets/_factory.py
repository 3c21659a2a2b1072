"""Building blocks shared by the asset modules: raw-file assets, core-table specs and loads.

* :func:`raw_file_asset` makes the ``raw_<source>__<table>`` asset that lands one catalogued file
  (bundled or downloaded) in the landing store and records it in ``core_provenance__files``.
* :func:`table_spec` is the ``AssetSpec`` of a registry table, carrying its description and
  column schema so the Dagster UI shows the registry's words.
* :func:`load_tables` validates and lands frames, skipping tables whose inputs are unchanged.
"""


from collections.abc import Callable, Iterable, Iterator
from types import ModuleType

import zipfile

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    asset,
)

from pipelines.resources import POOL, SourcesResource, WarehouseResource, fingerprint
from sources.catalogue import entry
from python_calamine import CalamineError

from sources.inputs import InputFile, SourceFormatError
from sources.landing import LandedFile
from warehouse.engine.ddl import column_comment, duckdb_type
from warehouse.engine.registry import REGISTRY, Table


def column_schema(t: Table) -> TableSchema:
    return TableSchema(columns=[
        TableColumn(
            name=f.name,
            type=duckdb_type(f),
            description=column_comment(f),
            constraints=TableColumnConstraints(nullable=f.nullable, unique=f.unique, other=[f.constraints_text()] if f.constraints_text() else []),
        )
        for f in t.fields
    ])


def table_spec(name: str, deps: Iterable[str] = (), group: str | None = None) -> AssetSpec:
    t = REGISTRY[name]
    return AssetSpec(
        key=name,
        deps=[AssetKey(d) for d in deps],
        description=t.description,
        group_name=group,
        kinds={"duckdb"},
        metadata={"dagster/column_schema": column_schema(t), "grain": t.grain, "primary_key": ", ".join(t.primary_key)},
    )


def raw_file_asset(name: str, source_id: str, group: str) -> Callable:
    """The asset that lands ``source_id``'s file and records its provenance."""
    e = entry(source_id)

    @asset(
        name=name,
        group_name=group,
        pool=POOL,
        kinds={"file"},
        description=f"{e.title}. Publisher: {e.publisher}. Licence: {e.licence}. Cadence: {e.cadence}.",
        metadata={"source_id": source_id, "url": MetadataValue.url(e.url), "licence": e.licence},
    )
    def _raw(context: AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource) -> LandedFile:
        landed = sources.land(source_id, warehouse)
        added = warehouse.record_provenance(landed)
        context.log.info(f"{source_id}: {landed.file_name} sha256 {landed.sha256[:12]} ({'new' if added else 'already recorded'})")
        context.add_output_metadata({
            "sha256": landed.sha256, "bytes": landed.bytes, "origin": landed.origin,
            "retrieved_at": landed.retrieved_at.isoformat(), "new_file": bool(added),
        })
        return landed

    return _raw


def input_file(landed: LandedFile, warehouse: WarehouseResource) -> InputFile:
    return InputFile(landed.source_id, landed.path(warehouse.paths.data), landed.sha256)


def readable_errors(build: Callable[[], dict[str, pd.DataFrame]], inputs: list[LandedFile]) -> dict[str, pd.DataFrame]:
    """Run ``build``, turning low-level read errors (wrong encoding, wrong file type, broken CSV) into a
    :class:`SourceFormatError` that names the input files and says what was wrong."""
    files = ", ".join(i.label for i in inputs) or "(no input file)"
    try:
        return build()
    except UnicodeDecodeError as err:
        raise SourceFormatError(f"{files}: not UTF-8 text ({err.reason} at byte {err.start}); was the file saved in another encoding (e.g. UTF-16 or Windows-1252)?") from err
    except CalamineError as err:
        raise SourceFormatError(f"{files}: not a readable Excel workbook ({err}); is it the right file type, or was the download cut short?") from err
    except zipfile.BadZipFile as err:
        raise SourceFormatError(f"{files}: a corrupt or truncated .xlsx (zip) file ({err})") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SourceFormatError(f"{files}: not a well-formed CSV ({str(err).strip()})") from err


def load_tables(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    inputs: list[LandedFile],
    code: Iterable[ModuleType],
    build: Callable[[], dict[str, pd.DataFrame]],
    reads: Iterable[str] = (),
) -> Iterator[MaterializeResult]:
    """Build and land the tables ``build`` returns, unless their inputs are unchanged since the last load.

    ``context.selected_asset_keys`` names the tables; each yields a ``MaterializeResult`` with row
    count and input hashes (or ``skipped``), so multi-table assets report per table.
    """
    names = [key.path[-1] for key in context.selected_asset_keys]
    fp = fingerprint(inputs, names, code, warehouse.upstream_fingerprint(reads))
    meta_inputs = MetadataValue.json([{"source_id": i.source_id, "sha256": i.sha256, "file": i.file_name} for i in inputs])
    if warehouse.unchanged(names, fp):
        context.log.info(f"{', '.join(names)}: inputs unchanged since the last load; not parsed again")
        for name in names:
            yield MaterializeResult(asset_key=name, metadata={"skipped": "inputs unchanged", "inputs": meta_inputs})
        return
    frames = readable_errors(build, inputs)
    for name in names:
        rows = warehouse.load(name, frames[name], inputs, fp)
        context.log.info(f"{name}: {rows:,} rows landed")
        yield MaterializeResult(asset_key=name, metadata={"dagster/row_count": rows, "inputs": meta_inputs})
