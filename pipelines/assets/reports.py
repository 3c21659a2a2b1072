"""Report documents: an inbox folder, a sensor that starts a run per new document, and the report tables.

* The **inbox** is ``<data folder>/inbox/``. Drop a PDF, text or Markdown file there (or run
  ``observatory ingest FILE...``, which copies it in and processes it at once).
* The **sensor** ``reports_inbox_sensor`` hashes new inbox files; each new SHA-256 becomes a partition of
  the dynamic partitions ``report_documents``, and the new documents of a tick are processed by one run of
  ``ingest_report`` over their partition range. Idempotent by hash: the same bytes under another name, or a
  second tick, start nothing.
* The **asset** ``core_reports`` (one multi-asset, group ``reports``, partitioned by document, single-run
  backfill policy) lands the run's documents in the landing store, runs intake, table extraction,
  extraction specs and claims for them in parallel worker processes under a per-document budget, and
  replaces those documents' rows only in every ``core_reports__*`` table, one batch per table
  (`warehouse.engine.loader.replace_rows`), so the tables accumulate across documents. A bad document is stored as ``quarantined`` with its reason; it
  never fails the run.
* ``publish_after_ingest`` publishes the warehouse after each successful ingest run, so the published
  file gains the document. Group ``reports`` is outside the full refresh (``ON_DEMAND_GROUPS``).
* ``observatory ingest`` runs ``ingest_and_publish_reports``: the same asset, the claims' reconciliation and
  the publish in one run (a run's fixed cost once), after it has started the documents' extraction itself.
"""


import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetSelection,
    BackfillPolicy,
    DagsterRunStatus,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    MaterializeResult,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    run_status_sensor,
    sensor,
)

from pipelines.assets._factory import blocking_check, table_asset, table_spec
from pipelines.inbox import document_jobs, inbox_dir, inbox_files, known_places, register
from pipelines.resources import WarehouseResource
from sources.reports.batch import process_documents, take_started
from sources.reports.claims import PlaceMatcher
from sources.reports.frames import CORE_TABLES, failed_document
from sources.reports.specs import all_specs
from warehouse.engine import loader, queries
from warehouse.engine.contracts import ContractViolation, validate
from warehouse.engine.registry import REGISTRY

GROUP = "reports"
PARTITIONS = DynamicPartitionsDefinition(name="report_documents")
SPEC_TABLES = sorted(t.name for t in REGISTRY.values() if t.extra.get("report_spec"))
REPORT_TABLES = [*CORE_TABLES, *SPEC_TABLES]
INGEST_JOB = "ingest_report"
PUBLISH_JOB = "publish_reports"
INGEST_AND_PUBLISH_JOB = "ingest_and_publish_reports"
PUBLISH_ASSETS = ("mart_reconciliation__claims", "observatory_warehouse")
RUN_TAG_FILE = "observatory/report_file"


# --- the asset ------------------------------------------------------------------------------------

def place_matcher(warehouse: WarehouseResource) -> tuple[PlaceMatcher, bool]:
    """Places from the run's working database (`pipelines.inbox.known_places`)."""
    with warehouse.connect() as con:
        return known_places(con)


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in REGISTRY[name].column_names})


def _batch_tables(processed: list) -> dict[str, pd.DataFrame]:
    """Each report table's rows of all the documents, validated against its contract (ContractViolation if not)."""
    out = {}
    for name in REPORT_TABLES:
        frames = [p.frames[name] for p in processed if name in p.frames and len(p.frames[name])]
        out[name] = validate(REGISTRY[name], pd.concat(frames, ignore_index=True) if frames else _empty(name), [])
    return out


def _within_contracts(processed: list, jobs: list) -> tuple[list, dict[str, pd.DataFrame]]:
    """The documents, a document whose rows break a table's contract quarantined with the violation, and each
    table's validated rows of the documents that passed (what the loader writes, without validating again).

    Rows are validated once per batch when they all pass (the usual case); a failing batch is checked document
    by document so one bad document does not keep the others out, and the rest is validated again as a batch.
    """
    try:
        return processed, _batch_tables(processed)
    except ContractViolation:
        pass
    by_path = {str(j.path): j for j in jobs}
    out = []
    for p in processed:
        try:
            for name, frame in p.frames.items():
                if len(frame):
                    validate(REGISTRY[name], frame, [p.intake.file_name])
            out.append(p)
        except ContractViolation as err:
            job = by_path.get(str(p.intake.path))
            out.append(failed_document(p.intake.path, f"rows break the warehouse contract: {str(err)[:1500]}",
                                       file_name=p.intake.file_name, password=job.password if job else None))
    return out, _batch_tables(out)


@blocking_check(asset="core_reports__documents", description="Every quarantined document says why, and every cell and claim belongs to a recorded document.")
def report_documents_are_consistent(warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect() as con:
        unexplained, orphans = queries.query(con, "reports_check").iloc[0].tolist()
    return AssetCheckResult(passed=unexplained == 0 and orphans == 0,
                            metadata={"quarantined_without_reason": int(unexplained), "orphan_rows": int(orphans)})


@table_asset(
    specs=[table_spec(name, deps=["core_geo__areas"], group=GROUP) for name in REPORT_TABLES],
    checks=[report_documents_are_consistent],
    partitions_def=PARTITIONS,
    backfill_policy=BackfillPolicy.single_run(),
)
def core_reports(context: AssetExecutionContext, warehouse: WarehouseResource):
    """Report documents (partitions = their SHA-256s; one run may cover many): intake, tables, cells, claims, spec tables.

    The documents of the run are processed in parallel worker processes, each under a time and memory
    budget (`sources.reports.batch`), and all their rows are written in one batch per table over one
    connection; every document still gets its own partition, so the UI shows each one.
    """
    document_ids = list(context.partition_keys)
    jobs, labels, landed_files = document_jobs(warehouse.paths, document_ids)
    started = time.monotonic()
    batch = take_started(jobs)
    if batch is not None:  # `observatory ingest` started these documents before it created this run
        processed = batch.result(jobs)
        how = (f"in {batch.seconds:.1f}s, started by observatory ingest {started - batch.began:.1f}s before this step "
               f"(which waited {time.monotonic() - started:.1f}s for them)")
    else:
        places, has_geography = place_matcher(warehouse)
        if not has_geography:
            context.log.warning("the warehouse has no core_geo__areas yet: places in claims are matched by built-in aliases only "
                                "(run `observatory build` for every area name)")
        # a spec naming a table the registry does not declare fails the run here, before any document is read
        processed = process_documents(jobs, places=places, specs=all_specs(known=REGISTRY))
        how = f"in {time.monotonic() - started:.1f}s"
    statuses = {p.document_id: p.intake.status for p in processed}
    context.log.info(f"{len(processed)} document(s) {how}: "
                     + ", ".join(f"{p.intake.file_name} {p.intake.status}" + (f" ({p.intake.reason})" if p.intake.reason else "")
                                 for p in processed)[:4000])
    processed, validated = _within_contracts(processed, jobs)
    with warehouse.connect() as con:
        # every landed document is an input file like any other: credited in core_provenance__files
        loader.insert_new_rows(con, REGISTRY["core_provenance__files"],
                               pd.DataFrame([f.provenance_row() for f in landed_files]), inputs=labels)
        for name in REPORT_TABLES:
            rows = loader.replace_rows(con, REGISTRY[name], validated[name], key_column="document_id", key_value=document_ids,
                                       inputs=labels, prevalidated=True)
            yield MaterializeResult(asset_key=name, metadata={
                "dagster/row_count": rows, "documents": len(document_ids),
                "landed": sum(1 for s in statuses.values() if s == "landed"),
                "quarantined": sum(1 for s in statuses.values() if s == "quarantined"),
            })


ingest_job = define_asset_job(
    INGEST_JOB,
    selection=AssetSelection.groups(GROUP),
    partitions_def=PARTITIONS,
    description="Process one report document from the reports inbox (partition = its SHA-256) into the core_reports__* tables.",
)
publish_job = define_asset_job(
    PUBLISH_JOB,
    selection=AssetSelection.keys(*PUBLISH_ASSETS),
    description="Reconcile the claims and publish the working database (after report documents were added) without refreshing the sources.",
)
ingest_and_publish_job = define_asset_job(
    INGEST_AND_PUBLISH_JOB,
    selection=AssetSelection.groups(GROUP) | AssetSelection.keys(*PUBLISH_ASSETS),
    partitions_def=PARTITIONS,
    description="What `observatory ingest` runs: report documents from the inbox (partitions = their SHA-256s) into the "
                "core_reports__* tables, then the claims reconciled and the warehouse published, all in one run.",
)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags for one run over the partitions from ``first`` to ``last`` (in the order they were added)."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def partition_runs(all_keys: list[str], wanted: list[str]) -> list[tuple[str, str]]:
    """The fewest partition ranges covering exactly ``wanted`` (consecutive runs of it in ``all_keys``)."""
    want = set(wanted)
    runs: list[tuple[str, str]] = []
    start = prev = None
    for key in all_keys:
        if key in want:
            start = start or key
            prev = key
        elif start is not None:
            runs.append((start, prev))
            start = None
    if start is not None:
        runs.append((start, prev))
    return runs


# --- the sensor -----------------------------------------------------------------------------------

@dataclass
class InboxScan:
    new: dict[str, str]  # sha256 -> file name, not yet a partition
    cursor: str


def scan_inbox(inbox: Path, known_partitions: set[str], cursor: str | None) -> InboxScan:
    """New documents in the inbox; files are re-hashed only when their size or mtime changed."""
    try:
        seen = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        seen = {}
    current: dict[str, list] = {}
    new: dict[str, str] = {}
    for path in inbox_files(inbox):
        stat = path.stat()
        previous = seen.get(path.name)
        if previous and previous[0] == stat.st_size and previous[1] == stat.st_mtime_ns:
            sha = previous[2]
        else:
            sha = register(inbox, path)
        current[path.name] = [stat.st_size, stat.st_mtime_ns, sha]
        if sha not in known_partitions and sha not in new:
            new[sha] = path.name
    return InboxScan(new, json.dumps(current, sort_keys=True))


@sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches <warehouse folder>/inbox/ and starts one ingest_report run for the new documents of each tick (a partition per SHA-256).",
)
def reports_inbox_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource) -> SensorResult:
    inbox = inbox_dir(warehouse.paths)
    known = set(context.instance.get_dynamic_partitions(PARTITIONS.name))
    scan = scan_inbox(inbox, known, context.cursor)
    new = list(scan.new)
    # one run for all new documents of the tick (they are added together, so they form one partition range)
    requests = [RunRequest(run_key=hashlib.sha256("".join(new).encode()).hexdigest(), tags={
        **range_tags(new[0], new[-1]), RUN_TAG_FILE: ", ".join(scan.new.values())[:500]})] if new else []
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[PARTITIONS.build_add_request(list(scan.new))] if scan.new else [],
        cursor=scan.cursor,
    )


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job],
    request_job=publish_job,
    default_status=DefaultSensorStatus.RUNNING,
    description="Publishes the warehouse after each successful ingest_report run, so the published file gains the document.",
)
def publish_after_ingest(context):
    return RunRequest(run_key=f"publish-after-{context.dagster_run.run_id}")


assets = [core_reports]
checks = [report_documents_are_consistent]
jobs = [ingest_job, publish_job, ingest_and_publish_job]
sensors = [reports_inbox_sensor, publish_after_ingest]
