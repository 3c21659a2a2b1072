"""`observatory ingest FILE...`: add report documents to the reports inbox and process them in-process.

Each file is copied into ``<warehouse folder>/inbox/``; their extraction starts at once in parallel worker
processes under a per-document budget (`sources.reports.batch.start_documents`), while one run of the
``ingest_and_publish_reports`` job is created over their partitions (partition = a document's SHA-256): its
``core_reports`` step takes the finished batch and writes all rows in one batch per table, then the same run
reconciles the claims and publishes the warehouse, so the published file gains the documents. A document
already processed by the same extractor is not processed again unless it was quarantined (``--force``
processes it anyway). When the warehouse
has no geography yet, the full build runs first (places in claims are matched against it, and a
published warehouse must hold every refreshed table).
"""

import warnings
from collections.abc import Callable
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table as RichTable

from sources.reports.pdf_tables import EXTRACTOR_VERSION
from warehouse.engine import queries
from warehouse.engine.paths import WarehousePaths


def _tables_in(working: Path) -> set[str]:
    """The tables of the working database (one read-only open; empty when it does not exist yet)."""
    if not working.exists():
        return set()
    con = duckdb.connect(str(working), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    finally:
        con.close()


def _required_tables() -> list[str]:
    """The tables every published warehouse must hold (those of the assets outside the on-demand groups)."""
    from pipelines.definitions import ON_DEMAND_GROUPS, asset_keys, domain_assets, group_of
    from warehouse.engine.registry import REGISTRY

    keys = asset_keys([a for a in domain_assets if group_of(a) not in ON_DEMAND_GROUPS])
    return sorted({k.path[-1] for k in keys if k.path[-1] in REGISTRY})


def _documents(working: Path, ids: list[str], tables: set[str] | None = None) -> dict[str, dict]:
    tables = _tables_in(working) if tables is None else tables
    if not ids or "core_reports__documents" not in tables:
        return {}
    con = duckdb.connect(str(working), read_only=True)
    try:
        frame = queries.query(con, "reports_documents", ids=list(ids))
    finally:
        con.close()
    return {r["document_id"]: r for r in frame.to_dict("records")}


def _start_early(paths: WarehousePaths, document_ids: list[str]) -> None:
    """Start processing the documents in worker processes now, with the places and specs the run's step would use;
    the step takes the batch (`sources.reports.batch.take_started`) instead of processing them again.

    Called before Dagster is imported, so the workers use the cores while this process loads Dagster and
    creates the run. Only when the warehouse has its geography (otherwise the step warns and matches by
    built-in aliases). If anything here fails, nothing is started: the step processes the documents itself
    and reports what went wrong.
    """
    from pipelines.inbox import document_jobs, known_places
    from sources.reports.batch import start_documents
    from sources.reports.specs import all_specs
    from warehouse.engine.registry import REGISTRY

    try:
        jobs, _, _ = document_jobs(paths, document_ids)
        con = duckdb.connect(str(paths.working))
        try:
            places, has_geography = known_places(con)
        finally:
            con.close()
        specs = all_specs(known=REGISTRY)
    except Exception:  # noqa: BLE001 - the step meets the same error and reports it
        return
    if has_geography:
        start_documents(jobs, places=places, specs=specs)


def _add(files: list[Path], inbox: Path, password: str | None) -> tuple[list[tuple[Path, str]], list[str], dict[str, str]]:
    """The files copied into the inbox: (file, sha256) in the order given, the distinct sha256s, a name for each."""
    from pipelines.inbox import add_to_inbox

    order = [(f, add_to_inbox(inbox, f, password)[0]) for f in files]
    return order, list(dict.fromkeys(sha for _, sha in order)), {sha: f.name for f, sha in reversed(order)}


def _to_process(paths: WarehousePaths, unique: list[str], tables: set[str] | None, force: bool) -> list[str]:
    """The documents to process: a document already processed by this extractor is not processed again, unless
    it was quarantined (a password or an OCR install may have arrived since) or ``force``."""
    before = _documents(paths.working, unique, tables)
    return [sha for sha in unique
            if force or sha not in before or before[sha].get("extractor_version") != EXTRACTOR_VERSION
            or before[sha].get("status") == "quarantined"]


def ingest(files: list[Path], *, paths: WarehousePaths, password: str | None, force: bool, console: Console, err_console: Console,
           run_refresh: Callable[[bool], bool]) -> int:
    """Copy, process and publish; print one line per document. Returns the exit code."""
    warnings.filterwarnings("ignore")
    from pipelines.inbox import inbox_dir, refuse_at_intake
    from sources.inputs import SourceFormatError
    from sources.reports.batch import cancel_started

    paths = paths.ensure()
    # refused before anything is copied: missing, not a regular file (symlink, device, folder), too big
    missing = []
    for f in files:
        try:
            refuse_at_intake(f)
        except SourceFormatError as err:
            err_console.print(f"[red]Refused:[/red] {err}", highlight=False, soft_wrap=True)
            missing.append(f)
    files = [f for f in files if f not in missing]
    if not files:
        return 2
    inbox = inbox_dir(paths)
    present = _tables_in(paths.working)
    added = to_run = None
    try:
        if "core_geo__areas" in present:  # the usual case: extraction starts now and overlaps Dagster's start-up
            added = _add(files, inbox, password)
            to_run = _to_process(paths, added[1], present, force)
            if to_run:
                _start_early(paths, to_run)
        lacking = [t for t in _required_tables() if t not in present]
        if lacking:
            cancel_started()
            what = "no geography yet (core_geo__areas)" if "core_geo__areas" in lacking else f"no {', '.join(lacking[:4])}" + (" …" if len(lacking) > 4 else "")
            err_console.print(f"The warehouse at {paths.published} has {what}: running the full build first, so claims can "
                              "be matched to places and the warehouse can be published with every table.")
            if not run_refresh(False):
                err_console.print("[red]The build failed; no documents were ingested.[/red]")
                return 1
            added = added or _add(files, inbox, password)
            to_run = _to_process(paths, added[1], None, force)
        order, unique, names = added
        from pipelines.resources import run_config

        return _run(order, to_run, paths=paths, config=run_config(paths), console=console, err_console=err_console,
                    missing=bool(missing), inbox=inbox, names=names, unique=unique)
    finally:
        cancel_started()  # a batch its run never asked for (the run failed before its step)


def _run(order: list[tuple[Path, str]], to_run: list[str], *, paths: WarehousePaths, config: dict, console: Console,
         err_console: Console, missing: bool, inbox: Path, names: dict[str, str], unique: list[str]) -> int:
    """The Dagster run(s) over the documents to process, the publish, and the table of what became of each document."""
    from pipelines.assets.reports import INGEST_AND_PUBLISH_JOB, PARTITIONS, PUBLISH_ASSETS, RUN_TAG_FILE, partition_runs, range_tags
    from pipelines.definitions import defs
    from pipelines.errors import one_line
    from pipelines.instance import recover_dead_runs, run_tags, shared_instance

    instance = shared_instance(paths)
    for run_id in recover_dead_runs(instance):  # the CLI holds the writer lock: an unfinished run of ours is dead
        err_console.print(f"[yellow]run {run_id[:8]} of a process that was killed was marked failed and its warehouse slot freed[/yellow]")
    known = set(instance.get_dynamic_partitions(PARTITIONS.name))
    new = [sha for sha in unique if sha not in known]
    if new:
        instance.add_dynamic_partitions(PARTITIONS.name, new)
    job = defs.resolve_job_def(INGEST_AND_PUBLISH_JOB)
    failed: dict[str, str] = {}
    publish_errors: list[str] = []
    # one run over all the documents (a run per partition range: normally one range, the keys just added)
    all_keys = instance.get_dynamic_partitions(PARTITIONS.name)
    for first, last in partition_runs(all_keys, to_run):
        covered = all_keys[all_keys.index(first):all_keys.index(last) + 1]
        tags = {**run_tags(), RUN_TAG_FILE: ", ".join(names[k] for k in covered)[:500],
                **(range_tags(first, last) if first != last else {})}
        result = job.execute_in_process(partition_key=first if first == last else None, instance=instance,
                                        raise_on_error=False, run_config=config, tags=tags)
        if not result.success:
            # a failure of the reconciliation or the publish leaves the documents landed in the working database;
            # any other (the documents' step, their blocking check) fails the documents, and nothing is published
            steps = [(e.step_key or "", one_line(e.step_key, e.step_failure_data.error)) for e in result.all_events if e.is_step_failure]
            publishing = [text for key, text in steps if key.startswith(PUBLISH_ASSETS)]
            ingesting = [text for key, text in steps if not key.startswith(PUBLISH_ASSETS)]
            if ingesting or not publishing:
                failed.update({k: ingesting[0] if ingesting else "the run failed" for k in covered})
            publish_errors += publishing
    ran = len(to_run)
    published = bool(ran) and not failed and not publish_errors
    if publish_errors:
        err_console.print(f"[red]Publishing failed:[/red] {publish_errors[0]}")
    after = _documents(paths.working, unique)
    grid = RichTable("file", "document", "status", "pages", "tables", "claims", "reason / note")
    for f, sha in order:
        row = after.get(sha)
        if sha in failed:
            grid.add_row(f.name, sha[:12], "[red]failed[/red]", "", "", "", failed[sha][:200])
        elif row is None:
            grid.add_row(f.name, sha[:12], "[red]missing[/red]", "", "", "", "not recorded")
        else:
            status = row["status"]
            colour = "green" if status == "landed" else "yellow"
            pages = "" if row["pages"] is None or row["pages"] != row["pages"] else str(int(row["pages"]))
            grid.add_row(f.name, sha[:12], f"[{colour}]{status}[/{colour}]", pages, str(row["tables"]), str(row["claims"]),
                         (row["reason"] or "") if isinstance(row["reason"], str) else "")
    console.print(grid)
    landed = sum(1 for _, sha in order if after.get(sha, {}).get("status") == "landed")
    quarantined = sum(1 for _, sha in order if after.get(sha, {}).get("status") == "quarantined")
    console.print(f"{landed} landed, {quarantined} quarantined, {len(failed)} failed; inbox {inbox}"
                  + (f"; published {paths.published}" if ran and published else ""))
    return 1 if failed or missing or publish_errors else 0
