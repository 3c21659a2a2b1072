"""Building blocks shared by the asset modules: raw-file assets, core-table specs and loads.

* :func:`raw_file_asset` makes the ``raw_<source>__<table>`` asset that lands one catalogued file
  (bundled or downloaded) in the landing store and records it in ``core_provenance__files``.
* :func:`table_spec` is the ``AssetSpec`` of a registry table, carrying its description and
  column schema so the Dagster UI shows the registry's words.
* :func:`load_tables` validates and lands frames, skipping tables whose inputs are unchanged.
* :func:`blocking_check` / :func:`warning_check`: the two kinds of asset check (a failed blocking check stops
  the publish; a warning never does).
"""


import contextlib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    asset,
    asset_check,
)
from python_calamine import CalamineError

from pipelines import offload
from pipelines.fingerprint import fingerprint
from pipelines.resources import POOL, SourcesResource, WarehouseResource
from sources.catalogue import catalogue, source_credit
from sources.inputs import InputFile, SourceFormatError
from sources.landing import LandedFile
from warehouse.engine import contracts, loader
from warehouse.engine.ddl import column_comment, duckdb_type
from warehouse.engine.registry import REGISTRY, Table


def blocking_check(**kwargs) -> Callable:
    """An asset check that guards correctness: if it fails, nothing downstream runs, so nothing is published
    (Dagster's ``blocking``) and ``observatory build`` exits non-zero naming it. Holds the warehouse pool."""
    return asset_check(blocking=True, pool=POOL, **kwargs)


def warning_check(**kwargs) -> Callable:
    """An asset check that only warns (its result carries ``severity=WARN``): it never stops a publish."""
    description = kwargs.pop("description", "")
    return asset_check(blocking=False, pool=POOL, description=f"Warning only. {description}".strip(), **kwargs)


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


# What a source's live fetch returns: one landed file, several (batched downloads), or None (nothing named this run).
Landed = LandedFile | list[LandedFile] | None
LiveFetch = Callable[[AssetExecutionContext, WarehouseResource], Landed]


# The parser that reads each source's files into a frame, as its raw asset declares it (see :func:`parse`).
PARSERS: dict[str, Callable[[InputFile], pd.DataFrame]] = {}


def raw_file_asset(name: str, source_id: str, group: str, *, live: LiveFetch | None = None, many: bool = False,
                   description: str | None = None, parser: Callable[[InputFile], pd.DataFrame] | None = None) -> AssetsDefinition:
    """The one way a raw file lands: the ``raw_<source>__<table>`` asset for ``source_id``.

    Offline it lands the bundled snapshot file (or nothing, for a live-only source); in live mode it runs
    ``live`` (the source's own client: paging, batching, change probes) or else downloads the catalogue's
    ``download_url``. Every file landed is recorded in ``core_provenance__files``. The asset's value is a
    ``LandedFile`` (``many``: a list of them), or None when a live-only source landed nothing.

    ``parser`` is the function that reads the source's files into a frame: a file new to the warehouse is parsed
    ahead in a helper process as soon as it lands (:mod:`pipelines.offload`), and the step that reads it takes the
    frame with :func:`parse`.
    """
    credit = source_credit(source_id)
    bundled = source_id in catalogue()
    if parser is not None:
        PARSERS[source_id] = parser

    @asset(
        name=name,
        group_name=group,
        pool=POOL,
        kinds={"file"},
        description=description or (f"{credit.title}. Publisher: {credit.publisher}. Licence: {credit.licence}. "
                                    f"Cadence: {credit.cadence}." + ("" if bundled else " Live mode only (nothing bundled).")),
        metadata={"source_id": source_id, "url": MetadataValue.url(credit.url), "licence": credit.licence},
    )
    def _raw(context: AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource):  # -> Landed
        if sources.mode == "live" and live is not None:
            got = live(context, warehouse)
        elif sources.mode == "live" or bundled:
            got = sources.land(source_id, warehouse) if bundled or credit.download_url else None
        else:
            got = None
        files = [f for f in (got if isinstance(got, list) else [got]) if f is not None]
        if not files:
            context.log.info(f"{source_id}: nothing to land ({'live-only source, offline build' if sources.mode != 'live' else 'no location named'})")
        for f in files:
            added = warehouse.record_provenance(f)
            if added and parser is not None:  # new bytes: the table that reads them will be built (known files skip)
                offload.parse_ahead(parser, input_file(f, warehouse))
            context.log.info(f"{source_id}: {f.file_name} sha256 {f.sha256[:12]} from {f.origin} ({'new' if added else 'already recorded'})")
        context.add_output_metadata({
            "mode": sources.mode, "files": len(files),
            "landed": MetadataValue.json([{"sha256": f.sha256, "bytes": f.bytes, "origin": f.origin,
                                           "retrieved_at": f.retrieved_at.isoformat()} for f in files]),
        })
        if many:
            return files
        return files[0] if len(files) == 1 else (files or None)

    return _raw


def input_file(landed: LandedFile, warehouse: WarehouseResource) -> InputFile:
    return InputFile(landed.source_id, landed.path(warehouse.paths.data), landed.sha256)


def parse(landed: LandedFile, warehouse: WarehouseResource) -> pd.DataFrame:
    """The landed file read by its source's parser (declared by its raw asset): parsed ahead if it was."""
    return offload.parsed(PARSERS[landed.source_id], input_file(landed, warehouse))


@contextlib.contextmanager
def readable_errors(inputs: list[LandedFile]) -> Iterator[None]:
    """Turn low-level read errors (wrong encoding, wrong file type, broken CSV) raised while building into a
    :class:`SourceFormatError` that names the input files and says what was wrong."""
    files = ", ".join(i.label for i in inputs) or "(no input file)"
    try:
        yield
    except UnicodeDecodeError as err:
        raise SourceFormatError(f"{files}: not UTF-8 text ({err.reason} at byte {err.start}); was the file saved in another encoding (e.g. UTF-16 or Windows-1252)?") from err
    except CalamineError as err:
        raise SourceFormatError(f"{files}: not a readable Excel workbook ({err}); is it the right file type, or was the download cut short?") from err
    except zipfile.BadZipFile as err:
        raise SourceFormatError(f"{files}: a corrupt or truncated .xlsx (zip) file ({err})") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SourceFormatError(f"{files}: not a well-formed CSV ({str(err).strip()})") from err


@contextlib.contextmanager
def forget_if_rejected(warehouse: WarehouseResource, inputs: list[LandedFile]) -> Iterator[None]:
    """A load refused for its data (contract, format) leaves no provenance row for the files it refused."""
    try:
        yield
    except (contracts.ContractViolation, SourceFormatError):
        warehouse.forget_rejected(inputs)
        raise


def load_tables(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    inputs: list[LandedFile],
    build: Callable[[], Mapping[str, pd.DataFrame] | Iterable[tuple[str, pd.DataFrame]]],
    reads: Iterable[str] = (),
) -> Iterator[MaterializeResult]:
    """Build and land the tables of this asset, unless nothing they depend on changed since the last load.

    ``context.selected_asset_keys`` names the tables. ``build`` returns ``{table: frame}`` (every frame is
    validated against its contract before any is loaded, so a bad file loads nothing) or yields
    ``(table, frame)`` pairs, loaded one at a time (for tables that read the ones before them). What the
    load depends on is found automatically (:mod:`pipelines.fingerprint`); ``reads`` names the warehouse
    tables ``build`` queries. Each table yields a ``MaterializeResult`` with its row count, also when skipped.
    """
    names = [key.path[-1] for key in context.selected_asset_keys]
    log = warehouse.load_log()
    fp = fingerprint(inputs, names, build, loader.stamp(log, reads))
    meta_inputs = MetadataValue.json([{"source_id": i.source_id, "sha256": i.sha256, "file": i.file_name} for i in inputs])
    if all(name in log and log[name].fingerprint == fp for name in names):
        context.log.info(f"{', '.join(names)}: nothing they depend on changed since the last load; not built again")
        for name in names:
            yield MaterializeResult(asset_key=name, metadata={
                "dagster/row_count": log[name].row_count, "skipped": "inputs unchanged", "inputs": meta_inputs})
        return
    with forget_if_rejected(warehouse, inputs), readable_errors(inputs):
        built = build()
        if isinstance(built, Mapping):
            labels = [i.label for i in inputs]
            pairs, prevalidated = [(name, contracts.validate(REGISTRY[name], built[name], labels)) for name in names], True
        else:
            pairs, prevalidated = built, False
        for name, frame in pairs:
            rows = warehouse.load(name, frame, inputs, fp, prevalidated=prevalidated)
            context.log.info(f"{name}: {rows:,} rows landed")
            yield MaterializeResult(asset_key=name, metadata={"dagster/row_count": rows, "inputs": meta_inputs})
