"""Building blocks shared by the asset modules: raw-file assets, core-table specs and loads.

* :func:`raw_file_asset` makes the ``raw_<source>__<table>`` assets (one :class:`RawFile` each) that land
  catalogued files (bundled or downloaded) in the landing store and record them in ``core_provenance__files``;
  :func:`parse` reads a landed file with its source's parser.
* :func:`table_spec` is the ``AssetSpec`` of a registry table, carrying its description and
  column schema so the Dagster UI shows the registry's words.
* :func:`load_tables` validates and lands frames, skipping tables whose inputs are unchanged.
* :func:`table_asset` is the ``multi_asset`` of registry tables, with their checks run in the same step.
* :func:`blocking_check` / :func:`warning_check`: the two kinds of asset check (a failed blocking check stops
  the publish; a warning never does).
"""


import contextlib
import functools
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    multi_asset,
)
from python_calamine import CalamineError

from pipelines import memory, offload
from pipelines.fingerprint import fingerprint
from pipelines.resources import POOL, SourcesResource, WarehouseResource
from sources.catalogue import catalogue, source_credit
from sources.inputs import InputFile, SourceFormatError
from sources.landing import LandedFile
from warehouse.engine import contracts, loader
from warehouse.engine.ddl import column_comment, duckdb_type
from warehouse.engine.registry import REGISTRY, Table


@dataclass(frozen=True)
class TableCheck:
    """An asset check of a table, run in the step that lands the table, right after it (Dagster's ``check_specs``).

    A check is a query of what the step just landed: as a step of its own it cost a Dagster step (events, a claim of
    the warehouse pool) for a few milliseconds of work. Calling it evaluates it: ``check(warehouse)``.
    """

    spec: AssetCheckSpec
    evaluate: Callable[[WarehouseResource], AssetCheckResult]

    def __call__(self, warehouse: WarehouseResource) -> AssetCheckResult:
        result = self.evaluate(warehouse)
        return AssetCheckResult(passed=result.passed, asset_key=self.spec.asset_key, check_name=self.spec.name,
                                metadata=result.metadata, severity=result.severity, description=result.description)


def blocking_check(*, asset: str, description: str, name: str | None = None) -> Callable[[Callable], TableCheck]:
    """A check that guards correctness: if it fails, its step fails, nothing downstream runs, so nothing is published
    (Dagster's ``blocking``) and ``observatory build`` exits non-zero naming it. Named after the function."""
    return lambda fn: TableCheck(AssetCheckSpec(name or fn.__name__, asset=asset, description=description, blocking=True), fn)


def warning_check(*, asset: str, description: str, name: str | None = None) -> Callable[[Callable], TableCheck]:
    """A check that only warns (its result carries ``severity=WARN``): it never stops a publish."""
    return lambda fn: TableCheck(AssetCheckSpec(name or fn.__name__, asset=asset, description=f"Warning only. {description}",
                                                blocking=False), fn)


def table_asset(*, specs: Sequence[AssetSpec], checks: Sequence[TableCheck] = (), **kwargs) -> Callable:
    """The ``multi_asset`` of registry tables (``specs``, from :func:`table_spec`), holding the warehouse pool, whose
    ``checks`` run in the same step after the body has landed the tables.

    Any subset of the tables and checks can be materialised (``can_subset``): the UI can run a check alone, and then the
    body is not run; the body lands ``context.selected_asset_keys`` (what :func:`load_tables` does)."""

    def decorate(body: Callable) -> AssetsDefinition:
        @multi_asset(specs=list(specs), check_specs=[c.spec for c in checks], can_subset=True, pool=POOL, **kwargs)
        @functools.wraps(body)
        def step(context: AssetExecutionContext, **resources_and_inputs):
            try:
                if context.selected_asset_keys:
                    yield from body(context, **resources_and_inputs)
                for check in checks:
                    if check.spec.key in context.selected_asset_check_keys:
                        yield check(resources_and_inputs["warehouse"])
            finally:
                memory.give_back()  # what the step freed, so the next step's peak is not this one's garbage on top of its own

        return step

    return decorate


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


# The parser that reads each source's files into a frame, as its raw file declares it (see :func:`parse`).
PARSERS: dict[str, Callable[[InputFile], pd.DataFrame]] = {}


@dataclass(frozen=True)
class RawFile:
    """One ``raw_<source>__<table>`` asset: a catalogued source and how it lands (see :func:`raw_file_asset`).

    ``live``: the source's own client in live mode (paging, batching, change probes), else the catalogue's
    ``download_url``. ``many``: the asset's value is a list of files. ``parser``: the function that reads the
    source's files into a frame (a file new to the warehouse is parsed ahead in a helper process as soon as it
    lands, :mod:`pipelines.offload`; the step that reads it takes the frame with :func:`parse`).
    """

    name: str
    source_id: str
    live: LiveFetch | None = None
    many: bool = False
    description: str | None = None
    parser: Callable[[InputFile], pd.DataFrame] | None = None

    @property
    def credit(self):
        return source_credit(self.source_id)

    @property
    def bundled(self) -> bool:
        return self.source_id in catalogue()

    def out(self, group: str) -> AssetOut:
        credit, bundled = self.credit, self.bundled
        return AssetOut(
            key=self.name,
            group_name=group,
            kinds={"file"},
            description=self.description or (f"{credit.title}. Publisher: {credit.publisher}. Licence: {credit.licence}. "
                                             f"Cadence: {credit.cadence}." + ("" if bundled else " Live mode only (nothing bundled).")),
            metadata={"source_id": self.source_id, "url": MetadataValue.url(credit.url), "licence": credit.licence},
        )

    def land(self, context: AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource) -> Landed:
        """Land the file(s): the bundled snapshot file offline (nothing for a live-only source), else the live fetch."""
        if sources.mode == "live" and self.live is not None:
            got = self.live(context, warehouse)
        elif sources.mode == "live" or self.bundled:
            got = sources.land(self.source_id, warehouse) if self.bundled or self.credit.download_url else None
        else:
            got = None
        files = _files(got)
        if not files:
            context.log.info(f"{self.source_id}: nothing to land ({'live-only source, offline build' if sources.mode != 'live' else 'no location named'})")
        if self.many:
            return files
        return files[0] if len(files) == 1 else (files or None)


def _files(got: Landed) -> list[LandedFile]:
    return [f for f in (got if isinstance(got, list) else [got]) if f is not None]


def raw_file_asset(step: str, group: str, raw_files: Iterable[RawFile]) -> AssetsDefinition:
    """The one way raw files land: one step, ``land_<step>``, making the ``raw_<source>__<table>`` asset of each
    :class:`RawFile` (any subset of them can be materialised).

    Each asset's value is a ``LandedFile`` (``many``: a list of them), or None when a live-only source landed
    nothing. The files landed are recorded in ``core_provenance__files`` together, and those new to the warehouse
    are parsed ahead. The files one table build reads land in one step (a step costs Dagster some 0.1 s whatever it does).
    A source that fails to land is logged by name and fails the step after the others have landed (with its own
    error when it is the only one, so the message reads as the source's client wrote it; else with a ``Failure``
    naming each), so nothing that reads it is built.
    """
    raw_files = list(raw_files)
    for raw in raw_files:
        if raw.parser is not None:
            PARSERS[raw.source_id] = raw.parser
    by_name = {raw.name: raw for raw in raw_files}

    @multi_asset(name=f"land_{step}", outs={raw.name: raw.out(group) for raw in raw_files}, can_subset=True, pool=POOL)
    def _land(context: AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource):
        failed, landed = [], {}
        for name in sorted(key.path[-1] for key in context.selected_asset_keys):
            raw = by_name[name]
            try:
                got = raw.land(context, warehouse, sources)
            except Exception as err:  # noqa: BLE001 - the others still land; the step fails below, naming each
                context.log.error(f"{raw.source_id}: not landed: {err}")
                failed.append((raw, err))
                continue
            landed[name] = (raw, got)
        new = warehouse.record_provenance(f for _, got in landed.values() for f in _files(got))
        for name, (raw, got) in landed.items():
            for f in _files(got):
                if f.sha256 in new and raw.parser is not None:  # new bytes: the table that reads them will be built
                    offload.parse_ahead(raw.parser, input_file(f, warehouse), priority=first_use(context.job_def.asset_layer.asset_graph, name))
                context.log.info(f"{raw.source_id}: {f.file_name} sha256 {f.sha256[:12]} from {f.origin} "
                                 f"({'new' if f.sha256 in new else 'already recorded'})")
            yield Output(got, output_name=name, metadata={
                "mode": sources.mode, "files": len(_files(got)),
                "landed": MetadataValue.json([{"sha256": f.sha256, "bytes": f.bytes, "origin": f.origin,
                                               "retrieved_at": f.retrieved_at.isoformat()} for f in _files(got)]),
            })
        if len(failed) == 1:
            raise failed[0][1]
        if failed:
            raise Failure(description="; ".join(f"{raw.name} ({raw.source_id}): {err}" for raw, err in failed))

    return _land


def first_use(graph, asset: str) -> int:
    """How soon a run of the job whose asset graph is ``graph`` (``job_def.asset_layer.asset_graph``) needs ``asset``:
    the depth in the graph (the longest chain of assets above it) of the first asset built from it. A run's steps
    follow the graph, so a file whose readers are deeper is read later."""
    return min((_depth(graph, child) for child in graph.get(AssetKey(asset)).child_keys), default=0)


@functools.cache
def _depth(graph, key: AssetKey) -> int:
    return 1 + max((_depth(graph, parent) for parent in graph.get(key).parent_keys), default=-1)


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

    ``context.selected_asset_keys`` names the tables. ``build`` returns ``{table: frame}`` (loaded together, in one
    transaction: one frame that breaks its contract, and no table of the build changes) or yields
    ``(table, frame)`` pairs, loaded one at a time (for tables that read the ones before them); a table the
    registry stores as a view (``view_of``, ``union_of``) has no frame: it is made after the frames, in their
    transaction (for a union view the mapping may name the tables it unions in this build, when not all). What the
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
        views = [name for name in names if REGISTRY[name].is_view]
        if isinstance(built, Mapping):
            loaded = warehouse.load({name: built[name] for name in names if name not in views}, inputs, fp, views,
                                    unions={name: built[name] for name in views if name in built}).items()
        elif views:
            raise ValueError(f"{views}: views are made with the tables of a build returned as one mapping")
        else:
            loaded = (item for name, frame in built for item in warehouse.load({name: frame}, inputs, fp).items())
        for name, rows in loaded:
            context.log.info(f"{name}: {rows:,} rows landed")
            yield MaterializeResult(asset_key=name, metadata={"dagster/row_count": rows, "inputs": meta_inputs})
