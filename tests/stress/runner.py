"""`observatory build`, unchanged, with phase markers on stdout: the process the crash suite kills.

Run as ``python -m tests.stress.runner`` with ``OBSERVATORY_WAREHOUSE`` set. Before the CLI starts,
the shared functions each phase goes through are wrapped (never replaced) so that each prints one
line when it starts::

    PHASE <monotonic seconds> <phase> <detail>

with phase one of ``land`` (a file put in the landing store), ``parse`` (a build that reads landed
files begins: its sources parsed into frames and transformed), ``load`` (a load into the working database begins), ``validate`` (its frame checked
against the contract), ``stage`` (the staging table created inside the load's transaction),
``publish`` (publishing begins: the diff against the published file), ``publish-record`` (build
history written), ``publish-copy`` (working database copied to the publish temporary),
``publish-replace`` (the rename over the published file) and ``done``. The suite picks its kill
points from these markers; the refresh itself runs the real CLI code path.

``OBSERVATORY_STRESS_DOMAINS=provenance,geography,...`` limits the code location to those asset
modules (as if ``pipelines.assets.DOMAINS`` listed only them) and skips rendering the HTML report,
so many trials fit in a few minutes.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import sys
import time


def mark(phase: str, detail: str = "") -> None:
    sys.stdout.write(f"PHASE {time.monotonic():.6f} {phase} {detail}\n")
    sys.stdout.flush()


def _wrap(owner, name: str, phase: str, detail=lambda *a, **k: "") -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        mark(phase, detail(*args, **kwargs))
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def _without_html_report() -> None:
    """Keep the ``observatory_report`` and ``observatory_pages`` assets but make them do nothing: they only read the
    published file after publishing and write HTML beside it, so they are not part of what a crash can damage,
    rendering them would be most of every short refresh, and a spine-only code location lacks the marts they draw."""
    from dagster import AssetKey, AssetSpec, MaterializeResult, multi_asset

    import pipelines.assets.outputs as outputs
    from pipelines.assets.publish import PUBLISH_ASSET

    def stub():
        @multi_asset(name="observatory_outputs", can_subset=True, specs=[
            AssetSpec(name, group_name="publish", deps=[AssetKey(PUBLISH_ASSET)]) for name in (outputs.REPORT_ASSET, outputs.PAGES_ASSET)])
        def _rendered(context):
            for key in context.selected_asset_keys:
                yield MaterializeResult(asset_key=key)

        return _rendered

    outputs.outputs_asset = stub


def instrument() -> None:
    """Wrap the phase entry points; must run before `pipelines.definitions` is imported."""
    import pipelines.assets

    if os.environ.get("OBSERVATORY_STRESS_DOMAINS"):
        pipelines.assets.DOMAINS = tuple(os.environ["OBSERVATORY_STRESS_DOMAINS"].split(","))
        _without_html_report()
    import pipelines.assets._factory as factory
    import pipelines.resources as resources
    import warehouse.engine.loader as loader
    import warehouse.engine.publish as publish_module

    _wrap(resources, "land_file", "land", lambda source, **kw: kw.get("source_id", ""))

    original_load_tables = factory.load_tables

    parameters = list(inspect.signature(original_load_tables).parameters)

    @functools.wraps(original_load_tables)
    def load_tables(*args, **kwargs):
        bound = dict(zip(parameters, args)) | kwargs
        context, build = bound["context"], bound["build"]
        if not bound["inputs"]:  # a build of warehouse tables alone (marts, the indicator views) parses no file
            return original_load_tables(**bound)

        def build_marked():
            mark("parse", ",".join(k.path[-1] for k in context.selected_asset_keys))
            return build()
        return original_load_tables(**(bound | {"build": build_marked}))

    factory.load_tables = load_tables  # domain modules bind the name when pipelines.definitions imports them

    _wrap(loader, "validate", "validate", lambda table, *a, **k: table.name)
    create_table_sql = loader.ddl.create_table_sql

    def create_table_sql_marked(table, name=None):
        if name and name.startswith("_staging__"):
            mark("stage", name)
        return create_table_sql(table, name)

    loader.ddl.create_table_sql = create_table_sql_marked
    _wrap(loader, "replace_table", "load", lambda con, table, *a, **k: table.name)
    _wrap(loader, "replace_tables", "load", lambda con, frames, *a, **k: ",".join(t.name for t, _ in frames))
    _wrap(loader, "insert_new_rows", "load", lambda con, table, *a, **k: table.name)
    _wrap(publish_module, "publish", "publish")
    import pipelines.assets.publish as publish_asset
    publish_asset.publish = publish_module.publish
    if hasattr(publish_module, "build_diff"):
        _wrap(publish_module.build_diff, "record", "publish-record")

    copyfile, replace = shutil.copyfile, os.replace

    def copyfile_marked(src, dst, *args, **kwargs):
        if ".publishing-" in os.fspath(dst):
            mark("publish-copy", os.path.basename(os.fspath(dst)))
        return copyfile(src, dst, *args, **kwargs)

    def replace_marked(src, dst, *args, **kwargs):
        if ".publishing-" in os.fspath(src):
            mark("publish-replace", os.path.basename(os.fspath(dst)))
        return replace(src, dst, *args, **kwargs)

    shutil.copyfile = copyfile_marked
    os.replace = replace_marked


def main() -> None:
    """``python -m tests.stress.runner [build | ingest FILE...]`` (default ``build``): the real CLI, instrumented."""
    instrument()
    from pipelines.cli import app

    try:
        app(sys.argv[1:] or ["build"], prog_name="observatory")
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
    mark("done")


if __name__ == "__main__":
    main()
