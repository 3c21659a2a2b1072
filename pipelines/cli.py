"""The `observatory` command: build, inspect and query the warehouse (see CONTRACT.md for the promises).

Commands that read the warehouse open the *published* file read-only, so they never block or see a
half-built refresh. ``build`` runs the Dagster job in-process (so runs appear in the UI when
``DAGSTER_HOME`` is set) and shows a progress bar fed by Dagster's own step events.
"""

import enum
import json
import logging
import os
import sys
from pathlib import Path
from typing import Optional

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from pipelines.errors import user_message
from pipelines.progress import PROGRESS_LOGGER
from warehouse.engine.paths import ENV_VAR, warehouse_paths

app = typer.Typer(help="Northern Health & Wealth Observatory: build and query the warehouse.", no_args_is_help=True,
                  add_completion=False)
console = Console()
err_console = Console(stderr=True)

# Statement types `observatory sql` runs; anything else (writes, ATTACH, INSTALL, LOAD, COPY, SET) is refused.
_READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA"}


class OutputFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _use_warehouse(path: Optional[Path]) -> None:
    if path is not None:
        os.environ[ENV_VAR] = str(path)


def open_published(path: Optional[Path] = None, *, allow_files: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse; files outside it are unreadable unless ``allow_files``."""
    paths = warehouse_paths(path)
    if not paths.published.exists():
        err_console.print(f"[red]No warehouse at {paths.published}.[/red] Run `observatory build` first.")
        raise typer.Exit(2)
    config = {} if allow_files else {"enable_external_access": False, "lock_configuration": True}
    return duckdb.connect(str(paths.published), read_only=True, config=config)


# --- build -------------------------------------------------------------------------------------

class _ProgressHandler(logging.Handler):
    """Advances a rich progress bar on Dagster's STEP_SUCCESS / STEP_FAILURE events."""

    def __init__(self, progress: Progress, task) -> None:
        super().__init__()
        self.progress, self.task = progress, task

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event") if hasattr(record, "dagster_meta") else None
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.progress.update(self.task, description=f"[cyan]{event.step_key}")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            self.progress.advance(self.task)
        elif kind == "ASSET_MATERIALIZATION" and event.asset_key:
            self.progress.console.log(f"landed {event.asset_key.to_user_string()}")


def _publish_summary(result) -> str:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == "observatory_warehouse":
            meta = event.materialization.metadata
            if not meta["published"].value:
                return "Nothing changed since the last publish: the warehouse file was left as it is."
            return f"Published: {meta['tables_changed'].value} table(s) changed (see core_build__changes)."
    return ""


def _run_refresh(live: bool) -> bool:
    import warnings

    from pipelines.instance import shared_instance

    warnings.filterwarnings("ignore")
    if live:
        os.environ["OBSERVATORY_MODE"] = "live"
    from pipelines.definitions import defs

    job = defs.resolve_job_def("refresh_all")
    total = len(job.graph.nodes)
    instance = shared_instance(warehouse_paths())
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as progress:
        task = progress.add_task("starting", total=total)
        log = logging.getLogger(PROGRESS_LOGGER)
        log.handlers = [_ProgressHandler(progress, task)]
        log.setLevel(logging.DEBUG)
        log.propagate = False
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config={"loggers": {"progress": {}}})
        progress.update(task, description="[green]done" if result.success else "[red]failed")
    if result.success:
        console.print(_publish_summary(result))
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                err_console.print(f"[red]{event.step_key} failed:[/red]\n{user_message(event.step_failure_data.error)}")
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                err_console.print(f"[red]check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed[/red] {dict(evaluation.metadata)}")
    return result.success


@app.command()
def build(
    live: bool = typer.Option(False, "--live", help="Fetch from the publishers instead of the bundled snapshot."),
    warehouse: Optional[Path] = typer.Option(None, help=f"Warehouse file (default: ${ENV_VAR} or warehouse/observatory.duckdb)."),
) -> None:
    """Materialise every asset (bundled snapshot by default) and publish the warehouse atomically."""
    _use_warehouse(warehouse)
    ok = _run_refresh(live)
    paths = warehouse_paths()
    if not ok:
        err_console.print(f"[red]Build failed; the published warehouse at {paths.published} is unchanged.[/red]")
        raise typer.Exit(1)
    console.print(f"\n[bold]Warehouse:[/bold] {paths.published}")
    _print_tables(paths.published)
    console.print("\nOpen the Dagster UI:  [bold].venv/bin/observatory ui[/bold]  then browse http://127.0.0.1:3000")
    console.print("Query it:            [bold].venv/bin/observatory sql \"SELECT area_type, count(*) FROM core_geo__areas GROUP BY 1\"[/bold]")


# --- tables / describe ---------------------------------------------------------------------------

def _print_tables(path: Optional[Path] = None) -> None:
    from warehouse.engine.publish import table_counts
    from warehouse.engine.registry import REGISTRY

    con = open_published(path)
    try:
        counts = table_counts(con)
        views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY 1").fetchall()]
    finally:
        con.close()
    name_width = max(map(len, [*counts, *views, "table"]))
    grid = RichTable(show_lines=False)
    grid.add_column("table", no_wrap=True, min_width=name_width)
    grid.add_column("rows", justify="right", no_wrap=True, min_width=9)
    grid.add_column("description", no_wrap=True, overflow="ellipsis", max_width=max(20, console.width - name_width - 20))
    for name, rows in counts.items():
        description = REGISTRY[name].description if name in REGISTRY else ""
        grid.add_row(name, f"{rows:,}", description)
    for name in views:
        grid.add_row(name, "(view)", "")
    console.print(grid)


@app.command()
def tables(warehouse: Optional[Path] = typer.Option(None, help="Warehouse file.")) -> None:
    """Every published table with its row count and description."""
    _print_tables(warehouse)


@app.command()
def describe(table: str = typer.Argument(..., help="Table name, e.g. core_population__estimates")) -> None:
    """Columns, types, units, descriptions, grain, key, sources and licences of a table."""
    from sources.catalogue import catalogue
    from warehouse.engine.ddl import duckdb_type
    from warehouse.engine.registry import REGISTRY

    if table not in REGISTRY:
        err_console.print(f"[red]No table {table!r}.[/red] Known: {', '.join(sorted(REGISTRY))}")
        raise typer.Exit(2)
    t = REGISTRY[table]
    console.print(f"[bold]{t.name}[/bold] ({t.layer})\n{t.description}\n[bold]Grain:[/bold] {t.grain}   [bold]Key:[/bold] {', '.join(t.primary_key)}")
    if t.notes:
        console.print(t.notes)
    grid = RichTable("column", "type", "unit", "null?", "description", "allowed")
    for f in t.fields:
        grid.add_row(f.name, duckdb_type(f), f.unit or "", "yes" if f.nullable else "no", f.description, f.constraints_text())
    console.print(grid)
    cat = catalogue()
    for source_id in t.sources:
        if source_id in cat:
            e = cat[source_id]
            console.print(f"[bold]Source[/bold] {source_id}: {e.title} ({e.publisher}). Licence {e.licence}. {e.url}")


# --- sql -------------------------------------------------------------------------------------

def _refuse_writes(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    try:
        parsed = con.extract_statements(statement)
    except duckdb.Error as err:
        err_console.print(f"[red]Could not parse the query:[/red] {err}")
        raise typer.Exit(2)
    for s in parsed:
        kind = s.type.name
        if kind not in _READ_ONLY_STATEMENTS:
            err_console.print(f"[red]Refused:[/red] `observatory sql` is read-only and runs SELECT queries only; this is a {kind} statement.")
            raise typer.Exit(2)


def _shadow_values_as_of(con: duckdb.DuckDBPyConnection, as_of: str) -> None:
    """Make ``core_indicators__values`` in this session mean the values as known at ``as_of`` (a temp view)."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError:
        err_console.print(f"[red]--as-of {as_of!r} is not an ISO date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00).[/red]")
        raise typer.Exit(2)
    if moment.time() == dt.time(0):
        moment = moment.replace(hour=23, minute=59, second=59)  # a date means the end of that day
    con.execute(
        "CREATE TEMP VIEW core_indicators__values AS "
        f"SELECT * EXCLUDE (retrieved_at, recorded_at) FROM indicator_values_as_of(TIMESTAMP '{moment.isoformat(sep=' ')}')"
    )


@app.command()
def sql(
    query: str = typer.Argument(..., help="A SELECT query."),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json."),
    allow_files: bool = typer.Option(False, "--allow-files", help="Let the query read files (read_csv, read_parquet) outside the warehouse."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Answer with core_indicators__values as the observatory knew them at this date/time (ISO, e.g. 2026-01-31)."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Run a read-only query against the published warehouse."""
    con = open_published(warehouse, allow_files=allow_files)
    try:
        _refuse_writes(con, query)
        if as_of is not None:
            _shadow_values_as_of(con, as_of)
        try:
            frame = con.execute(query).df()
        except duckdb.Error as err:
            err_console.print(f"[red]Query failed:[/red] {err}")
            raise typer.Exit(1)
    finally:
        con.close()
    if format is OutputFormat.csv:
        frame.to_csv(sys.stdout, index=False)
    elif format is OutputFormat.json:
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", indent=None) + "\n")
    else:
        grid = RichTable(*[str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            grid.add_row(*["" if v is None else str(v) for v in row])
        console.print(grid)
        console.print(f"{len(frame):,} row(s)")


@app.command()
def dictionary(check: bool = typer.Option(False, "--check", help="Exit 1 if docs/data_dictionary.md is out of date.")) -> None:
    """Regenerate docs/data_dictionary.md from the metadata registry."""
    from warehouse.outputs.dictionary import DICTIONARY_PATH, render

    text = render()
    if check:
        current = DICTIONARY_PATH.read_text(encoding="utf-8") if DICTIONARY_PATH.exists() else ""
        if current != text:
            err_console.print("docs/data_dictionary.md is out of date: run `observatory dictionary`.")
            raise typer.Exit(1)
        return
    DICTIONARY_PATH.parent.mkdir(parents=True, exist_ok=True)
    DICTIONARY_PATH.write_text(text, encoding="utf-8")
    console.print(f"wrote {DICTIONARY_PATH}")


class ExportFormat(str, enum.Enum):
    parquet = "parquet"
    csv = "csv"


@app.command()
def export(
    format: ExportFormat = typer.Option(ExportFormat.parquet, "--format", help="parquet or csv."),
    out: Path = typer.Option(..., "--out", help="Folder to write the tables and datapackage.json to."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Every published table as Parquet or CSV, plus a Frictionless datapackage.json from the registry."""
    from warehouse.outputs.export import export as run_export

    paths = warehouse_paths(warehouse)
    open_published(warehouse).close()  # a clear message if there is no warehouse yet
    report = run_export(paths.published, out, format.value)
    for name, rows in report.tables.items():
        console.print(f"{name}: {rows:,} rows")
    console.print(f"wrote {len(report.tables)} tables and {report.descriptor}")


@app.command()
def report(
    out: Path = typer.Option(..., "--out", help="The HTML file to write."),
    png_dir: Optional[Path] = typer.Option(None, "--png-dir", help="Also write each chart as a PNG here."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """The observatory report: charts and tables from the published warehouse, in one self-contained HTML file."""
    from warehouse.outputs.report import write_report

    open_published(warehouse).close()
    sections = write_report(warehouse_paths(warehouse).published, out, png_dir)
    for s in sections:
        console.print(f"{'[yellow]missing[/yellow]' if s.missing else '[green]ok[/green]':>8}  {s.title}" + (f": {s.missing}" if s.missing else ""))
    console.print(f"wrote {out}")


@app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="Report documents: PDF, plain text or Markdown."),
    password: Optional[str] = typer.Option(None, "--password", help="Password for encrypted PDFs among FILES."),
    force: bool = typer.Option(False, "--force", help="Process documents again even if already ingested."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Add report documents to the reports inbox, extract their tables and claims, and publish."""
    from pipelines.reports_ingest import ingest as run_ingest

    _use_warehouse(warehouse)
    code = run_ingest(files, password=password, force=force, console=console, err_console=err_console, run_refresh=_run_refresh)
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":
    app()
