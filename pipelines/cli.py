"""The `observatory` command: build, inspect and query the warehouse (see CONTRACT.md for the promises).

Commands that read the warehouse open the *published* file read-only, so they never block or see a
half-built refresh. ``build`` runs the Dagster job in-process (so runs appear in the UI when
``DAGSTER_HOME`` is set) and shows a progress bar fed by Dagster's own step events.
"""

import atexit
import enum
import gc
import logging
import os
import re
import sys
from pathlib import Path
from typing import Optional

import duckdb
import typer
import typer.core
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from pipelines.errors import user_message
from warehouse.engine.output_guard import OutputRefused, check_output
from warehouse.engine.paths import ENV_VAR, warehouse_paths
from warehouse.engine.writer_lock import writer_lock

console = Console()
err_console = Console(stderr=True, log_path=False)  # "landed X" lines without the meaningless "cli.py:152"
# At exit, after the other exit handlers (registered later, so run earlier), the objects still alive are moved
# out of the garbage collector's reach: the interpreter's last collection then skips a heap of Dagster and
# pandas objects the process is about to give back whole (about 0.5 s at the end of a build or an ingest).
atexit.register(gc.freeze)
DEFAULT_TABLE_ROWS = 40  # rows `observatory sql` prints as a table unless --limit says otherwise
_VERBOSE = {"on": bool(os.environ.get("OBSERVATORY_VERBOSE"))}


class UserError(Exception):
    """A mistake the user can fix (bad name, bad date, bad path): printed as one line, exit status 2."""


def _pass_through() -> tuple[type[BaseException], ...]:
    """Exceptions the CLI framework turns into usage messages and exit codes itself (typer may vendor click)."""
    import click

    kinds = {SystemExit, typer.Exit, typer.Abort, click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort}
    vendored = getattr(typer, "_click", None)
    if vendored is not None:
        kinds |= {getattr(vendored.exceptions, n) for n in ("ClickException", "Exit", "Abort") if hasattr(vendored.exceptions, n)}
    return tuple(kinds)


_PASS_THROUGH = _pass_through()


class _OneLineErrors(typer.core.TyperGroup):
    """Every command's unexpected exception becomes one red line and exit status 1 (2 for a
    :class:`UserError` or an area that cannot be resolved); the traceback only with ``--verbose``."""

    def invoke(self, ctx):
        from warehouse.outputs.areas import AreaLookupError

        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except BrokenPipeError:  # the reader went away (`observatory sql ... | head`): stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(0) from None
        except Exception as err:  # noqa: BLE001 - the one place errors become messages
            if _VERBOSE["on"]:
                import traceback

                traceback.print_exc()
            user_fault = isinstance(err, (UserError, AreaLookupError, OutputRefused))
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            prefix = "" if user_fault else f"{type(err).__name__}: "
            hint = "" if user_fault or _VERBOSE["on"] else " (run with --verbose for the traceback)"
            err_console.print(f"[red]Error:[/red] {prefix}{text}{hint}", highlight=False, soft_wrap=True)
            raise SystemExit(2 if user_fault else 1) from None


app = typer.Typer(help="Northern Health & Wealth Observatory: build and query the warehouse.", no_args_is_help=True,
                  add_completion=False, cls=_OneLineErrors, pretty_exceptions_enable=False)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", help="Show the full traceback when a command fails.")) -> None:
    """Northern Health & Wealth Observatory: build, query and read the warehouse."""
    if verbose:
        _VERBOSE["on"] = True
    _use_warehouse(None)  # each invocation starts from $OBSERVATORY_WAREHOUSE or the default (not a previous --warehouse)

# Statement types `observatory sql` runs; anything else (writes, ATTACH, INSTALL, LOAD, COPY, SET, action PRAGMAs
# such as profiling_output) is refused. Read-only PRAGMAs (table_info, database_size, ...) parse as SELECT; an
# EXPLAIN is checked by what it explains (EXPLAIN ANALYZE runs it).
_READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN"}
_EXPLAIN_PREFIX = re.compile(r"^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^)]*\)\s*)?", re.IGNORECASE)


class OutputFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


_WAREHOUSE: Optional[Path] = None  # the --warehouse of this invocation (None: $OBSERVATORY_WAREHOUSE or the default)


def _use_warehouse(path: Optional[Path]) -> None:
    global _WAREHOUSE
    _WAREHOUSE = path


def _paths():
    """The warehouse this invocation works on."""
    return warehouse_paths(_WAREHOUSE)


def open_published(path: Optional[Path] = None, *, allow_files: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse; files outside it are unreadable unless ``allow_files``."""
    paths = warehouse_paths(path or _WAREHOUSE)
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


def _print_step_failure(step: str, error) -> None:
    """One line naming the step, the file and the cause; the rest of a long message (every failing column of a
    contract) below it; the traceback with --verbose."""
    from pipelines.errors import one_line

    err_console.print(f"[red]{one_line(step, error)}[/red]", highlight=False, soft_wrap=True)
    rest = user_message(error).splitlines()[1:]
    if rest:
        err_console.print("\n".join(rest), highlight=False, soft_wrap=True)
    if _VERBOSE["on"]:
        err_console.print(error.to_string(), highlight=False, soft_wrap=True)


def _run_refresh(live: bool, rerun: bool = False) -> bool:
    """Run ``refresh_all`` in-process on the shared instance, holding the writer lock; True when it succeeded.

    An offline refresh with nothing changed since the last successful build launches no run (see
    :mod:`pipelines.build_stamp`) unless ``rerun``."""
    from pipelines import build_stamp
    from pipelines.instance import dagster_home

    paths = _paths()
    # one writer at a time, whatever the Dagster instance: a second build or ingest waits here, saying for whom
    with writer_lock(paths.data, say=lambda text: err_console.print(f"[yellow]{text}[/yellow]")):
        home = dagster_home(paths)
        reads = None if live else build_stamp.reads_digest(paths)
        last = None if live or rerun else build_stamp.up_to_date(paths, home, reads)
        if last is not None:
            console.print(f"Up to date: nothing the build reads (code, bundled snapshot, packages, settings, date) or left "
                          f"(working and published files, outputs) changed since the build of {last.finished} "
                          f"(run {last.run_id[:8]}), so no run was launched. `observatory build --rerun` runs it anyway.")
            return True
        build_stamp.forget(paths)
        result = _execute_refresh(live)
        if result.success and reads is not None:
            build_stamp.record(paths, home, reads, result.run_id)
    _report_refresh(result)
    return result.success


def _execute_refresh(live: bool):
    """``refresh_all`` in-process, with a progress bar fed by Dagster's step events (the caller holds the writer lock)."""
    import warnings

    from pipelines import offload

    # the helpers start while Dagster and the definitions are imported, and get ready to draw the report's charts
    offload.start(prepare=["warehouse.outputs.report:prepare"])
    from pipelines.instance import recover_dead_runs, run_tags, shared_instance
    from pipelines.progress import PROGRESS_LOGGER

    warnings.filterwarnings("ignore")
    from pipelines.definitions import defs
    from pipelines.resources import run_config

    job = defs.resolve_job_def("refresh_all")
    instance = shared_instance(_paths())
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as progress:
        task = progress.add_task("starting", total=len(job.graph.nodes))
        log = logging.getLogger(PROGRESS_LOGGER)
        log.handlers = [_ProgressHandler(progress, task)]
        log.setLevel(logging.DEBUG)
        log.propagate = False
        for run_id in recover_dead_runs(instance):
            progress.console.print(f"run {run_id[:8]} of a process that was killed was marked failed and its warehouse slot freed",
                                   soft_wrap=True, highlight=False)
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config(_paths(), live=live),
                                        tags=run_tags())
        progress.update(task, description="[green]done" if result.success else "[red]failed")
    return result


def _report_refresh(result) -> None:
    if result.success:
        console.print(_publish_summary(result))
        return
    for event in result.all_events:
        if event.is_step_failure:
            _print_step_failure(event.step_key, event.step_failure_data.error)
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            err_console.print(f"[red]check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed[/red] {dict(evaluation.metadata)}")


@app.command()
def build(
    live: bool = typer.Option(False, "--live", help="Fetch from the publishers instead of the bundled snapshot."),
    warehouse: Optional[Path] = typer.Option(None, help=f"Warehouse file (default: ${ENV_VAR} or warehouse/observatory.duckdb)."),
    rerun: bool = typer.Option(False, "--rerun", help="Launch the Dagster run even when nothing changed since the last build "
                               "(each table still skips when its own inputs are unchanged)."),
) -> None:
    """Materialise every asset (bundled snapshot by default) and publish the warehouse atomically.

    Offline, a build with nothing changed since the last successful one launches no run and says so."""
    _use_warehouse(warehouse)
    ok = _run_refresh(live, rerun)
    paths = _paths()
    if not ok:
        err_console.print(f"[red]Build failed; the published warehouse at {paths.published} is unchanged.[/red]")
        raise typer.Exit(1)
    console.print(f"\n[bold]Warehouse:[/bold] {paths.published}")
    _print_tables(paths.published)
    console.print("\nOpen the Dagster UI:  [bold].venv/bin/observatory ui[/bold]  then browse http://127.0.0.1:3000")
    console.print("Query it:            [bold].venv/bin/observatory sql \"SELECT area_type, count(*) FROM core_geo__areas GROUP BY 1\"[/bold]")


@app.command()
def ui(
    port: int = typer.Option(3000, help="Port of the web UI (always on 127.0.0.1)."),
    warehouse: Optional[Path] = typer.Option(None, help=f"Warehouse file (default: ${ENV_VAR} or warehouse/observatory.duckdb)."),
) -> None:
    """The Dagster UI and daemon (`dagster dev`) on 127.0.0.1, sharing the Dagster instance `build` records its runs in."""
    import subprocess

    from pipelines.instance import ui_command

    _use_warehouse(warehouse)
    argv, env = ui_command(_paths(), port)
    console.print(f"Dagster UI on [bold]http://127.0.0.1:{port}[/bold] (instance {env['DAGSTER_HOME']}); Ctrl-C stops it.")
    proc = subprocess.Popen(argv, env=env)
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached `dagster dev` too: let it stop its webserver and daemon
        code = proc.wait()
    raise typer.Exit(code)


# --- tables / describe ---------------------------------------------------------------------------

def _print_tables(path: Optional[Path] = None) -> None:
    from warehouse.engine.queries import table_comments, table_counts

    con = open_published(path)
    try:
        counts, comments = table_counts(con), table_comments(con)
        views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY 1").fetchall()
                 if r[0] not in counts]  # registry tables stored as views are listed as tables
        macros = [r[0] for r in con.execute("SELECT DISTINCT function_name FROM duckdb_functions() WHERE NOT internal "
                                            "AND schema_name = 'main' AND function_type IN ('macro', 'table_macro') ORDER BY 1").fetchall()]
    finally:
        con.close()
    name_width = max(map(len, [*counts, *views, "table"]))
    grid = RichTable(show_lines=False)
    grid.add_column("table", no_wrap=True, min_width=name_width)
    grid.add_column("rows", justify="right", no_wrap=True, min_width=9)
    grid.add_column("description", no_wrap=True, overflow="ellipsis", max_width=max(20, console.width - name_width - 20))
    for name, rows in counts.items():
        grid.add_row(name, f"{rows:,}", comments.get(name, ""))
    for name in views:
        grid.add_row(name, "(view)", "observatory describe " + name)
    for name in macros:
        grid.add_row(name, "(macro)", "observatory describe " + name)
    console.print(grid)


@app.command()
def tables(warehouse: Optional[Path] = typer.Option(None, help="Warehouse file.")) -> None:
    """Every published table with its row count and description."""
    _print_tables(warehouse)


def _describe_view_or_macro(name: str) -> bool:
    """Describe a published view (its columns and definition) or macro (its parameters and body); False if neither."""
    from warehouse.engine.queries import sql_text

    paths = _paths()
    if not paths.published.exists():
        return False
    con = open_published()
    try:
        found = con.execute(sql_text("analyst_describe_object"), {"name": name}).fetchall()
        if not found:
            return False
        kind, comment, definition, parameters = found[0]
        console.print(f"[bold]{name}[/bold] ({kind})")
        if comment:
            console.print(comment)
        if kind == "view":
            show_relation(con, con.sql(sql_text("analyst_view_columns"), params={"name": name}), 0, "column(s)")
        else:
            console.print(f"[bold]Parameters:[/bold] {', '.join(parameters or []) or '(none)'}")
        console.print(f"[bold]Definition:[/bold]\n{definition.strip()}", highlight=False, soft_wrap=True)
        return True
    finally:
        con.close()


@app.command()
def describe(table: str = typer.Argument(..., help="Table, view or macro name, e.g. core_population__estimates, lads_in")) -> None:
    """Columns, types, units, descriptions, grain, key, sources and licences of a table."""
    from sources.catalogue import catalogue
    from warehouse.engine.ddl import duckdb_type
    from warehouse.engine.registry import REGISTRY

    if table not in REGISTRY:
        if _describe_view_or_macro(table):
            return
        raise UserError(f"No table, view or macro {table!r}. List them with `observatory tables`.")
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
        raise typer.Exit(2) from None
    for s in parsed:
        kind = s.type.name
        if kind == "EXPLAIN":
            inner = _EXPLAIN_PREFIX.sub("", s.query, count=1)
            if inner == s.query:
                err_console.print("[red]Refused:[/red] `observatory sql` could not tell what this EXPLAIN explains.")
                raise typer.Exit(2)
            _refuse_writes(con, inner)
            continue
        if kind not in _READ_ONLY_STATEMENTS:
            err_console.print(f"[red]Refused:[/red] `observatory sql` is read-only and runs SELECT queries only; this is a {kind} statement.")
            raise typer.Exit(2)


def _shadow_values_as_of(con: duckdb.DuckDBPyConnection, as_of: str) -> None:
    """Make ``core_indicators__values`` in this session mean the values as known at ``as_of`` (a temp view).

    A moment before anything was recorded is a user error (it would silently answer with no rows).
    """
    import datetime as dt

    from warehouse.engine.ddl import quote_ident as ddl_quote
    from warehouse.engine.queries import sql_text

    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError:
        raise UserError(f"--as-of {as_of!r} is not an ISO date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00).") from None
    if moment.time() == dt.time(0):
        moment = moment.replace(hour=23, minute=59, second=59)  # a date means the end of that day
    stamp = moment.isoformat(sep=" ")
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'core_indicators__values' AND schema_name = 'main' "
        "ORDER BY column_index").fetchall()]
    known, first = con.execute(sql_text("analyst_as_of_coverage"), {"moment": moment}).fetchone()
    if not known:
        first_text = f"the first values were recorded at {first:%Y-%m-%d %H:%M}" if first else "no values have been recorded yet"
        raise UserError(f"--as-of {as_of}: the observatory knew no indicator values then; {first_text}.")
    select = ", ".join(ddl_quote(c) for c in columns)
    con.execute(f"CREATE TEMP VIEW core_indicators__values AS SELECT {select} FROM indicator_values_as_of(TIMESTAMP '{stamp}')")


def _terminal_width() -> int:
    import shutil

    return max(60, shutil.get_terminal_size((160, 40)).columns)


def show_relation(con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation, limit: int, what: str = "row(s)") -> None:
    """Print ``relation`` with DuckDB's box renderer: at most ``limit`` rows (0 = all), only the columns that fit.

    Only ``limit + 1`` rows are ever fetched, so a ``SELECT *`` over the largest table costs one screen.
    DuckDB's footer says which columns were left out; the line after it says whether rows were.
    """
    head = (relation.limit(limit + 1) if limit else relation).to_arrow_table()
    more = bool(limit) and head.num_rows > limit
    if more:
        head = head.slice(0, limit)
    shown = con.from_arrow(head)
    sys.stdout.flush()
    shown.show(max_width=_terminal_width(), max_rows=max(head.num_rows, 1), null_value="NULL")
    if more:
        console.print(f"[yellow]First {limit:,} {what} shown; there are more.[/yellow] Pass --limit N (0 for all) or --format csv.")
    else:
        console.print(f"{head.num_rows:,} {what}")


def _stream(relation: duckdb.DuckDBPyRelation, fmt: "OutputFormat", limit: int) -> None:
    """Write ``relation`` as CSV or JSON to stdout in batches (never the whole result in memory)."""
    if limit:
        relation = relation.limit(limit)
    reader = relation.fetch_arrow_reader(batch_size=50_000)
    first = True
    if fmt is OutputFormat.json:
        sys.stdout.write("[")
    for batch in reader:
        frame = batch.to_pandas()
        if fmt is OutputFormat.csv:
            frame.to_csv(sys.stdout, index=False, header=first)
        else:
            body = frame.to_json(orient="records", date_format="iso")[1:-1]
            if body:
                sys.stdout.write(("" if first else ",") + body)
        first = False
    if first and fmt is OutputFormat.csv:  # no batches: still print the header
        sys.stdout.write(",".join(relation.columns) + "\n")
    if fmt is OutputFormat.json:
        sys.stdout.write("]\n")


@app.command()
def sql(
    query: str = typer.Argument(..., help="A SELECT query."),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, help=f"At most this many rows (0 = all). Default: {DEFAULT_TABLE_ROWS} for a table, all for csv/json (streamed)."),
    allow_files: bool = typer.Option(False, "--allow-files", help="Let the query read files (read_csv, read_parquet) outside the warehouse."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Answer with core_indicators__values as the observatory knew them at this date/time (ISO, e.g. 2026-01-31)."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Run a read-only query against the published warehouse (NULL prints as NULL; big results are streamed)."""
    con = open_published(warehouse, allow_files=allow_files)
    try:
        _refuse_writes(con, query)
        if as_of is not None:
            _shadow_values_as_of(con, as_of)
        try:
            relation = con.sql(query)
            if relation is None:
                raise UserError("The query returned no result set.")
            if format is OutputFormat.table:
                show_relation(con, relation, DEFAULT_TABLE_ROWS if limit is None else limit)
            else:
                _stream(relation, format, limit or 0)
        except duckdb.Error as err:
            err_console.print(f"[red]Query failed:[/red] {str(err).splitlines()[0]}")
            raise typer.Exit(1) from None
    finally:
        con.close()


# --- analyst commands: indicators, areas, profile, compare -----------------------------------------

class AreaType(str, enum.Enum):
    country = "country"
    group = "group"
    region = "region"
    combined_authority = "combined_authority"
    county = "county"
    lad = "lad"


@app.command()
def indicators(
    search: Optional[str] = typer.Argument(None, help="Words to look for in the id, name, domain or unit, e.g. 'life expectancy'."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Every indicator (or those matching SEARCH): id, name, unit, polarity, areas and periods held, latest period."""
    from warehouse.outputs.areas import search_indicators

    con = open_published(warehouse)
    try:
        found = search_indicators(con, search)
        if found.empty:
            raise UserError(f"No indicator matches {search!r}. Run `observatory indicators` for the full list.")
        show_relation(con, con.from_df(found), 0, "indicator(s)")
    finally:
        con.close()


@app.command()
def areas(
    search: Optional[str] = typer.Argument(None, help="Words of an area name or a code, e.g. 'hull' or E06000010."),
    type: Optional[AreaType] = typer.Option(None, "--type", help="Only areas of this type."),
    abolished: bool = typer.Option(False, "--abolished", help="Include abolished areas (former districts and counties)."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Areas whose name or code matches SEARCH (close spellings too), with type and region."""
    from warehouse.outputs.areas import search_areas

    con = open_published(warehouse)
    try:
        found = search_areas(con, search, type.value if type else None, include_abolished=abolished)
        if found.empty:
            raise UserError(f"No area matches {search!r}" + (f" among type {type.value}" if type else "") + ".")
        show_relation(con, con.from_df(found), 0, "area(s)")
    finally:
        con.close()


@app.command()
def profile(
    area: str = typer.Argument(..., help="An area name (close spellings work, e.g. 'Hull') or code (E06000010, north)."),
    out: Optional[Path] = typer.Option(None, "--out", help="The HTML file to write (default: <data folder>/outputs/profiles/<code>.html)."),
    force: bool = typer.Option(False, "--force", help="Replace --out even if the observatory did not write it."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """One area's profile page: every indicator against England and its region, spine charts, trends, population."""
    from warehouse.outputs import profiles
    from warehouse.outputs.areas import resolve_area

    paths = warehouse_paths(warehouse)
    if out is not None:
        check_output(out, paths, force=force, command="observatory profile")
    con = open_published(warehouse)
    try:
        found = resolve_area(con, area)
        target = out if out is not None else paths.outputs / "profiles" / f"{found.code}.html"
        written = profiles.write_profiles(con, [found.code], target.parent, names={found.code: target.name})
    finally:
        con.close()
    console.print(f"{found.label()}: {written[found.code].rows} indicator rows")
    if found.also:
        console.print(f"[yellow]Also matched:[/yellow] {'; '.join(found.also)} (pass the code to choose one)")
    console.print(f"wrote {target}")


@app.command()
def compare(
    areas: list[str] = typer.Argument(..., help="Two or more area names or codes."),
    indicator: Optional[str] = typer.Option(None, "--indicator", help="Only indicators matching these words."),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Areas side by side: each indicator's latest value (with period) for every area and England."""
    from warehouse.outputs import profiles
    from warehouse.outputs.areas import resolve_area

    if len(areas) < 2:
        raise UserError("Name at least two areas to compare, e.g. `observatory compare Hull Leeds`.")
    con = open_published(warehouse)
    try:
        resolved = [resolve_area(con, a) for a in areas]
        table = profiles.comparison(con, [a.code for a in resolved], indicator)
        if table.empty:
            raise UserError("None of these areas has values" + (f" for indicators matching {indicator!r}." if indicator else "."))
        if format is OutputFormat.table:
            for a in resolved:
                console.print(f"{a.label()}" + (f"  [yellow](also matched: {'; '.join(a.also)})[/yellow]" if a.also else ""))
            show_relation(con, con.from_df(table), 0, "indicator row(s)")
        else:
            _stream(con.from_df(table), format, 0)
    finally:
        con.close()


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
    force: bool = typer.Option(False, "--force", help="Overwrite files in --out that an earlier export did not write."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """Every published table as Parquet or CSV, plus a Frictionless datapackage.json from the registry."""
    from warehouse.outputs.export import export as run_export
    from warehouse.outputs.export import targets, written_by_export

    paths = warehouse_paths(warehouse)
    open_published(warehouse).close()  # a clear message if there is no warehouse yet
    check_output(out, paths, force=force, command="observatory export", folder=True)
    for target in targets(out, format.value):
        check_output(target, paths, force=force, ours=written_by_export, command="observatory export")
    report = run_export(paths.published, out, format.value)
    for name, rows in report.tables.items():
        console.print(f"{name}: {rows:,} rows")
    console.print(f"wrote {len(report.tables)} tables and {report.descriptor}")


@app.command()
def report(
    out: Path = typer.Option(..., "--out", help="The HTML file to write."),
    png_dir: Optional[Path] = typer.Option(None, "--png-dir", help="Also write each chart as a PNG here."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file the observatory did not write."),
    warehouse: Optional[Path] = typer.Option(None, help="Warehouse file."),
) -> None:
    """The observatory report: charts and tables from the published warehouse, in one self-contained HTML file."""
    from warehouse.outputs.report import write_report

    paths = warehouse_paths(warehouse)
    check_output(out, paths, force=force, command="observatory report")
    if png_dir is not None:
        check_output(png_dir, paths, force=force, command="observatory report --png-dir", folder=True)
        for existing in sorted(png_dir.glob("[0-9][0-9]_*.png")):
            check_output(existing, paths, force=force, command="observatory report --png-dir")
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
    with writer_lock(_paths().data, say=lambda text: err_console.print(f"[yellow]{text}[/yellow]")):
        code = run_ingest(files, paths=_paths(), password=password, force=force, console=console, err_console=err_console, run_refresh=_run_refresh)
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":
    app()
