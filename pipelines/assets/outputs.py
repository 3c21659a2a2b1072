"""What each refresh draws from the published warehouse, once it is published: the HTML report and the analyst
pages (a profile page for every area, with an index, and the North against the Greater South East page).

One step makes both (``observatory_outputs``, subsettable: either can be materialised alone). When both are drawn,
the report is drawn in a helper process (:mod:`pipelines.offload`; ``observatory build`` has it import matplotlib
and draw a first chart while the run starts) while the pages are written in the run's own.
They go to ``<data folder>/outputs/``; `observatory report --out FILE` and `observatory profile AREA` write the
same files on demand. They read the published file only (no pool needed), and are not redrawn when nothing was
published since they last were.
"""

from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from pipelines import offload
from pipelines.assets.publish import PUBLISH_ASSET
from pipelines.resources import WarehouseResource

REPORT_ASSET = "observatory_report"
PAGES_ASSET = "observatory_pages"
REPORT_FILE = "observatory_report.html"
REPORT_DRAW = "warehouse.outputs.report:draw"


def _skipped(context: AssetExecutionContext, asset: str, marker: Path, published: Path) -> MaterializeResult | None:
    """The skipped materialisation of ``asset`` when ``marker`` (the file written last) is newer than the published
    warehouse (nothing was published since it was drawn); None when it must be drawn."""
    if not (marker.exists() and marker.stat().st_mtime >= published.stat().st_mtime):
        return None
    context.log.info(f"{asset}: {marker.name} is newer than the published warehouse (nothing was published): not redrawn")
    return MaterializeResult(asset_key=asset, metadata={"path": str(marker), "skipped": "the published warehouse has not changed"})


def _report(context: AssetExecutionContext, out: Path, sections: list[tuple[str, str | None]]) -> MaterializeResult:
    """The report's materialisation, from :func:`warehouse.outputs.report.draw`'s (title, missing) of each section."""
    missing = [f"{title}: {lacks}" for title, lacks in sections if lacks]
    for line in missing:
        context.log.warning(f"report section not shown: {line}")
    return MaterializeResult(asset_key=REPORT_ASSET, metadata={
        "path": str(out), "sections": len(sections), "sections_missing": len(missing),
        "missing": MetadataValue.md("\n".join(f"- {m}" for m in missing) or "none"),
    })


def _pages(written) -> MaterializeResult:
    empty = sorted(code for code, page in written.pages.items() if page.rows == 0)
    return MaterializeResult(asset_key=PAGES_ASSET, metadata={
        "profiles": str(written.index), "north_south": str(written.north_south), "pages": len(written.pages),
        "indicator_rows": sum(p.rows for p in written.pages.values()),
        "areas_without_indicators": MetadataValue.md(", ".join(empty) or "none"),
    })


def outputs_asset():
    """The report and the analyst pages, from the published warehouse."""

    @multi_asset(
        name="observatory_outputs",
        can_subset=True,
        specs=[
            AssetSpec(REPORT_ASSET, group_name="publish", deps=[AssetKey(PUBLISH_ASSET)], kinds={"html"},
                      description="The observatory report: one self-contained HTML file of charts and tables drawn from the "
                                  f"published warehouse (outputs/{REPORT_FILE} in the data folder). "
                                  "`observatory report --out FILE` writes the same."),
            AssetSpec(PAGES_ASSET, group_name="publish", deps=[AssetKey(PUBLISH_ASSET)], kinds={"html"},
                      description="Area profile pages (one self-contained HTML file per area, with spine charts, trends, "
                                  "population pyramid and source links; index.html lists them) and the North against the "
                                  "Greater South East page, in outputs/ in the data folder. `observatory profile AREA` "
                                  "writes one page the same way."),
        ],
    )
    def observatory_outputs(context: AssetExecutionContext, warehouse: WarehouseResource):
        from warehouse.outputs import profiles

        selected = {key.path[-1] for key in context.selected_asset_keys}
        published, outputs = warehouse.paths.published, warehouse.paths.outputs
        outputs.mkdir(parents=True, exist_ok=True)
        report_file, pages_marker = outputs / REPORT_FILE, outputs / "profiles" / "index.html"
        report = _skipped(context, REPORT_ASSET, report_file, published) if REPORT_ASSET in selected else None
        pages = _skipped(context, PAGES_ASSET, pages_marker, published) if PAGES_ASSET in selected else None
        draw_report, write_pages = REPORT_ASSET in selected and report is None, PAGES_ASSET in selected and pages is None
        # named, so matplotlib is imported only where the report is drawn: in the helper (prepared for it by
        # `observatory build`) when the pages are written here meanwhile, else here
        drawing = offload.beside(REPORT_DRAW, published, report_file) if draw_report and write_pages else None
        if write_pages:
            pages = _pages(profiles.write_pages(published, outputs))
        if draw_report:
            report = _report(context, report_file, drawing.result() if drawing else offload.call(REPORT_DRAW, published, report_file))
        yield from (result for result in (pages, report) if result is not None)

    return observatory_outputs
