"""Build history: what each publish changed against the warehouse it replaced."""

from warehouse.engine.registry import Field, Table

PUBLISH_ID = Field("publish_id", "text", "Identifier of the publish: its UTC timestamp `YYYYMMDDTHHMMSS.ffffff` and a short random suffix, so ids sort in publish order.")

TABLES = [
    Table(
        name="core_build__publishes",
        description="One row per publish of the warehouse: when, and how many tables changed against the previously published file. A refresh that changes nothing publishes nothing and adds no row.",
        grain="one row per publish",
        primary_key=("publish_id",),
        fields=(
            PUBLISH_ID,
            Field("published_at", "timestamp", "When the new file replaced the old one (UTC)."),
            Field("tables_changed", "integer", "Tables added, removed or with any row or column change.", ge=0),
            Field("summary", "text", "One line per changed table."),
        ),
    ),
    Table(
        name="core_build__changes",
        description="Per publish and table: tables added or removed, column changes, row-count changes, rows added/removed/changed by primary key, and a sample of changed values.",
        grain="one row per publish and changed table",
        primary_key=("publish_id", "table_name"),
        fields=(
            PUBLISH_ID,
            Field("table_name", "text", "The table that changed."),
            Field("change", "text", "`added`, `removed` or `changed`.", allowed=("added", "removed", "changed")),
            Field("rows_before", "bigint", "Rows in the previously published table.", nullable=True, ge=0),
            Field("rows_after", "bigint", "Rows in the newly published table.", nullable=True, ge=0),
            Field("rows_added", "bigint", "Keys present now but not before.", nullable=True, ge=0),
            Field("rows_removed", "bigint", "Keys present before but not now.", nullable=True, ge=0),
            Field("rows_changed", "bigint", "Keys present in both whose other values differ.", nullable=True, ge=0),
            Field("columns_added", "text", "Columns (name type) new in this publish, comma-separated.", nullable=True),
            Field("columns_removed", "text", "Columns (name type) gone in this publish, comma-separated.", nullable=True),
            Field("sample_changes", "text", "JSON list of up to 5 changed values: key, column, before, after.", nullable=True),
        ),
    ),
]
