"""Report documents (PDF, plain text, Markdown): intake, table extraction, extraction specs and numeric claims.

No Dagster and no DuckDB here (see `pipelines/assets/reports.py` and `warehouse/engine/registry/reports.py`):

* :mod:`sources.reports.intake` identifies a document by its SHA-256 and decides whether it lands or is
  quarantined (encrypted without a password, image-only, corrupt, truncated, oversized).
* :mod:`sources.reports.pdf_tables` finds ruled and unruled tables on every page with pdfplumber.
* :mod:`sources.reports.text_tables` reads tables and lines out of plain-text / Markdown documents.
* :mod:`sources.reports.specs` turns a report table into a typed table by a declarative TOML spec
  (`sources/report_specs/*.toml`).
* :mod:`sources.reports.claims` finds sentences carrying figures and parses them into value, unit and scale.
* :mod:`sources.reports.frames` shapes all of it into the registry's `core_reports__*` frames.
"""

SOURCE_ID = "report_inbox"
"""``source_id`` stamped on every report row: documents come from the reports inbox, not the catalogue."""
