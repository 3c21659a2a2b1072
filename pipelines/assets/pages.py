"""The analyst pages, redrawn from the published warehouse after each publish: a profile page for every area
(LADs, counties, combined authorities, regions, England, the two groups) with an index, and the North against
the Greater South East page. They go to ``<data folder>/outputs/profiles/`` and ``outputs/north_south.html``;
`observatory profile AREA` writes one page the same way. Reads the published file only (no pool needed).
"""


import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.assets.publish import PUBLISH_ASSET
from pipelines.resources import WarehouseResource

PAGES_ASSET = "observatory_pages"


def pages_asset():
    """Profile pages for every area and the North-vs-South page, from the published warehouse."""

    @asset(
        name=PAGES_ASSET,
        group_name="publish",
        deps=[AssetKey(PUBLISH_ASSET)],
        kinds={"html"},
        description="Area profile pages (one self-contained HTML file per area, with spine charts, trends, population "
                    "pyramid and source links; index.html lists them) and the North against the Greater South East page, "
                    "in outputs/ in the data folder. `observatory profile AREA` writes one page the same way.",
    )
    def observatory_pages(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        from warehouse.outputs import north_south, profiles

        published = warehouse.paths.published
        out_dir = warehouse.paths.outputs / "profiles"
        index = out_dir / "index.html"
        if index.exists() and index.stat().st_mtime >= published.stat().st_mtime:
            context.log.info("the pages are newer than the published warehouse (nothing was published): not redrawn")
            return MaterializeResult(metadata={"path": str(out_dir), "skipped": "the published warehouse has not changed"})
        con = duckdb.connect(str(published), read_only=True)
        try:
            pages = profiles.write_profiles(con, profiles.profile_codes(con), out_dir)
            profiles.write_index(con, pages, out_dir)  # last: its timestamp marks a complete set
            north = north_south.write_page(con, warehouse.paths.outputs / "north_south.html")
        finally:
            con.close()
        empty = sorted(code for code, page in pages.items() if page.rows == 0)
        return MaterializeResult(metadata={
            "profiles": str(index), "north_south": str(north), "pages": len(pages),
            "indicator_rows": sum(p.rows for p in pages.values()),
            "areas_without_indicators": MetadataValue.md(", ".join(empty) or "none"),
        })

    return observatory_pages
