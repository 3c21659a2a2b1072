"""Reports: documents added through the reports inbox, their tables, cells and numeric claims.

Every report table accumulates across documents: a document's load replaces that document's rows only
(`warehouse.engine.loader.replace_rows`). Rows carry the usual provenance with ``source_id = 'report_inbox'`` and
``source_sha256`` = the document's SHA-256 (join `core_reports__documents.sha256`; report documents are not
catalogue files, so they are not in `core_provenance__files`).
"""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import PROVENANCE

DOCUMENT_ID = Field(
    "document_id", "text",
    "Identity of the report document: the SHA-256 of its bytes (the same file added twice is one document).",
    pattern=r"^[0-9a-f]{64}$",
)
PAGE = Field("page", "integer", "Page of the document, 1-based (for plain-text documents: the line number).", ge=1)
TABLE_INDEX = Field("table_index", "integer", "Table within the document, 0-based in reading order (a table continuing over pages keeps one index).", ge=0)
ROW_INDEX = Field("row_index", "integer", "Row within the table, 0-based (continuation pages carry on the numbering).", ge=0)
_BOX = (
    Field("x0", "double", "Left edge of the cell's text (or of the empty cell), from the page's left.", unit="pt", nullable=True),
    Field("top", "double", "Top edge, from the page's top.", unit="pt", nullable=True),
    Field("x1", "double", "Right edge, from the page's left.", unit="pt", nullable=True),
    Field("bottom", "double", "Bottom edge, from the page's top.", unit="pt", nullable=True),
)
_NOTES = ("Provenance: `source_id` is `report_inbox`; `source_sha256` is the document's SHA-256 (join "
          "`core_reports__documents`); `source_locator` names page, table, row and column (or line).")


def spec_table(name: str, description: str, grain: str, fields: tuple[Field, ...], spec: str) -> Table:
    """A typed table a report extraction spec (`sources/report_specs/<spec>.toml`) produces."""
    return Table(
        name=name,
        description=description,
        grain=grain,
        primary_key=("document_id", "row_index"),
        fields=(DOCUMENT_ID, PAGE, ROW_INDEX.but(description="Row of the source table the record came from (0-based, header rows included)."), *fields, *PROVENANCE),
        notes=_NOTES + f" Produced by the extraction spec `sources/report_specs/{spec}.toml`.",
        extra={"report_spec": spec},
    )


TABLES = [
    Table(
        name="core_reports__documents",
        description="Every report document added to the reports inbox (PDF, plain text or Markdown), landed or quarantined, with what intake found.",
        grain="one row per distinct document (sha256)",
        primary_key=("document_id",),
        fields=(
            DOCUMENT_ID.but(unique=True),
            Field("sha256", "text", "SHA-256 of the document's bytes (equal to `document_id`).", pattern=r"^[0-9a-f]{64}$"),
            Field("file_name", "text", "File name the document was added under."),
            Field("kind", "text", "`pdf`, `text` or `markdown`.", allowed=("pdf", "text", "markdown")),
            Field("title", "text", "Title from the PDF's metadata, else its first line of text, else the file name."),
            Field("pages", "integer", "Number of pages (text documents: number of lines); NULL when the document could not be opened.", nullable=True, ge=0),
            Field("bytes", "bigint", "Size of the document.", unit="bytes", ge=0),
            Field("producer", "text", "Software that produced the PDF (its /Producer, else /Creator).", nullable=True),
            Field("has_text_layer", "boolean", "True when at least one page carries extractable text.", nullable=True),
            Field("pages_needing_ocr", "text", "Comma-separated pages with no text layer (image-only); NULL when none.", nullable=True),
            Field("encrypted", "boolean", "True when the PDF is encrypted (opened with a supplied password, or quarantined)."),
            Field("status", "text", "`landed` (tables and claims extracted) or `quarantined` (see `reason`).", allowed=("landed", "quarantined")),
            Field("reason", "text", "Why the document was quarantined, or a note on a landed one (e.g. pages needing OCR).", nullable=True),
            Field("tables", "integer", "Tables extracted.", ge=0),
            Field("claims", "integer", "Numeric claims extracted.", ge=0),
            Field("extractor_version", "text", "Version of the table extractor that read the document."),
            Field("ingested_at", "timestamp", "When the document was processed (UTC)."),
            *PROVENANCE,
        ),
        notes=_NOTES,
    ),
    Table(
        name="core_reports__tables",
        description="Index of the tables found in report documents: where each starts and ends, its shape and how it was found.",
        grain="one row per document and table",
        primary_key=("document_id", "table_index"),
        fields=(
            DOCUMENT_ID,
            TABLE_INDEX,
            PAGE.but(description="First page of the table (text documents: first line)."),
            Field("last_page", "integer", "Last page of the table (later than `page` when it continues over pages).", ge=1),
            Field("n_rows", "integer", "Rows in the table, header rows included.", ge=1),
            Field("n_cols", "integer", "Columns in the table.", ge=1),
            Field("header_rows", "integer", "Leading rows read as column headers.", ge=0),
            Field("method", "text", "`ruled` (drawn rules), `unruled` (whitespace columns) or `markdown` (a pipe table in a text document).",
                  allowed=("ruled", "unruled", "markdown")),
            Field("rotation", "integer", "Degrees the content was turned to read it: 0, or 90/270 for sideways text.", allowed=(0, 90, 270)),
            *_BOX,
            Field("header_text", "text", "The header rows' text, columns joined by ` | `.", nullable=True),
            Field("quality", "double", "How cleanly the table reads as a grid, 0..1: mean share of body cells holding one value, of body rows as full as the usual row, and of cells not stacking figures on several lines (`sources.reports.pdf_tables.ExtractedTable.assess`).", ge=0, le=1),
            Field("quality_flags", "text", "Suspected faults, `; `-separated: `merged columns` (two figures in one cell in many rows: a column probably lost), `merged rows` (figures stacked in one cell), `sparse`; NULL when none. Check a flagged table against the page before using it.", nullable=True),
            *PROVENANCE,
        ),
        notes=_NOTES,
    ),
    Table(
        name="core_reports__cells",
        description="Every cell of every table found in report documents, with its page and bounding box, empty cells included.",
        grain="one row per document, table, row and column",
        primary_key=("document_id", "table_index", "row_index", "col_index"),
        fields=(
            DOCUMENT_ID,
            PAGE,
            TABLE_INDEX,
            ROW_INDEX,
            Field("col_index", "integer", "Column within the table, 0-based.", ge=0),
            Field("text", "text", "The cell's text as printed (lines of a multi-line cell joined by a newline; empty string for an empty cell)."),
            *_BOX,
            Field("is_header", "boolean", "True for cells in the table's header rows."),
            *PROVENANCE,
        ),
        notes=_NOTES,
    ),
    Table(
        name="core_reports__claims",
        description="Numeric claims in report documents: each figure in a sentence or bullet, parsed into value, unit and scale, with the places and period it names and a hint of what it measures, for reconciliation against the warehouse.",
        grain="one row per figure in a sentence",
        primary_key=("claim_id",),
        fields=(
            Field("claim_id", "text", "Stable id: document id prefix, page, line and the figure's position (`<sha12>-p<page>-l<line>-c<char>`).", unique=True),
            DOCUMENT_ID,
            PAGE.but(description="Page the claim is on (text documents: the line number)."),
            Field("line", "integer", "Line on the page (text documents: the line number).", ge=1),
            Field("text", "text", "The sentence or bullet carrying the figure."),
            Field("context", "text", "The surrounding text: the sentence before and after (or the figure's caption and labels)."),
            Field("figure", "text", "The figure as printed (e.g. `£7,680,980`, `two and a half times`, `61.7`)."),
            Field("value", "double", "The figure's value with its scale applied (`£1.69 billion` → 1690000000)."),
            Field("unit", "text", "Unit of `value`.", allowed=("GBP", "USD", "EUR", "GBP per head", "USD per head", "EUR per head", "percent", "year", "count", "times", "years", "rank")),
            Field("scale", "double", "Multiplier the printed number carried (1, 1e3, 1e6, 1e9).", ge=1),
            Field("kind", "text", "The printed form of the figure: `money`, `per_head`, `percent`, `count`, `ratio`, `duration` (a difference in years and months), "
                  "`rank` (an ordinal or superlative) or `figure_value` (a number in a chart's data labels); `year` is no longer produced (years are never claims).",
                  allowed=("money", "per_head", "percent", "year", "count", "ratio", "figure_value", "duration", "rank")),
            Field("places", "text", "Places named in the sentence, as matched (`; `-separated); NULL when none.", nullable=True),
            Field("area_codes", "text", "Area codes of the places named (`core_geo__areas` codes or `north` / `greater_south_east`), `; `-separated; NULL when none matched.", nullable=True),
            Field("place", "text", "The place the figure most likely refers to (nearest named place in the sentence).", nullable=True),
            Field("area_code", "text", "Area code of `place`, when matched.", nullable=True),
            Field("period", "text", "Period stated in the sentence (e.g. `2022`, `2015-2017`, `2020-23`), NULL when none.", nullable=True),
            Field("measure_hint", "text", "What the figure seems to measure (e.g. `research funding per head`, `healthy life expectancy`), for reconciliation; NULL when unclear.", nullable=True),
            Field("series", "text", "For figures read from a chart's data labels: the series (e.g. `male`, `female`).", nullable=True),
            Field("claim_kind", "text", "What the figure asserts: `amount` (a total of money), `per_head`, `count`, `level` (a measure's value at a place: "
                  "a chart value, `59.7 years`, `142.3 per 100,000`), `share` (`20% below the UK average`, `a fifth of`), `change` (`0.7 percent growth`, "
                  "`£81 million more`), `ratio` (`two and a half times`), `difference` (`1 year 10 months lower`) or `ranking` (`the second lowest`).",
                  allowed=("amount", "per_head", "count", "level", "share", "change", "ratio", "difference", "ranking")),
            Field("qualifier", "text", "Words qualifying the figure as printed (`over`, `less than`, `around`, `just`), NULL when none.", nullable=True),
            Field("place_basis", "text", "How `place` was chosen (e.g. `named right after the figure ('in'/'for')`, `the subject: ...`, "
                  "`'the region' read as ..., the region the document names most`, `chart label`), NULL when no place.", nullable=True),
            *PROVENANCE,
        ),
        notes=_NOTES,
    ),
    spec_table(
        "core_reports__nhs_spend_over_25k",
        "NHS commissioners' spend over £25,000 (the monthly transparency return every CCG / ICB publishes), one row per invoice line, typed by the example extraction spec.",
        "one row per document and invoice line",
        (
            Field("department_family", "text", "Department family as printed (e.g. `Department of Health`)."),
            Field("entity", "text", "The NHS body that paid (e.g. `NHS Barking And Dagenham CCG`)."),
            Field("payment_date", "text", "Date of the transaction as printed (dd/mm/yyyy)."),
            Field("expense_type", "text", "Expense type as printed."),
            Field("expense_area", "text", "Expense area as printed."),
            Field("supplier", "text", "Supplier paid, as printed (a name wrapped over two lines joined by a newline)."),
            Field("transaction_number", "text", "The body's transaction number."),
            Field("amount_gbp", "double", "Amount paid (AP amount).", unit="GBP"),
            Field("vat_registration_number", "text", "Supplier's VAT registration number, when printed.", nullable=True),
            Field("purchase_invoice_number", "text", "Purchase invoice number, when printed.", nullable=True),
        ),
        "nhs_spend_over_25k",
    ),
]
