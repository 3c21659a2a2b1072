"""Provenance: the input files every row traces back to."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import SOURCE_ID

TABLES = [
    Table(
        name="core_provenance__files",
        description="Every distinct input file the observatory has read, bundled or downloaded, recorded once by its SHA-256.",
        grain="one row per distinct input file (sha256)",
        primary_key=("sha256",),
        fields=(
            Field("sha256", "text", "SHA-256 of the file's bytes: its identity in the raw landing store.", pattern=r"^[0-9a-f]{64}$"),
            SOURCE_ID,
            Field("origin", "text", "Where the bytes came from: the URL fetched, or the snapshot path inside the repository."),
            Field("file_name", "text", "File name as published."),
            Field("bytes", "bigint", "Size of the file.", unit="bytes", ge=0),
            Field("retrieved_at", "timestamp", "When the observatory first read these bytes (UTC)."),
            Field("publisher", "text", "Who publishes the data."),
            Field("title", "text", "Title of the dataset as published."),
            Field("licence", "text", "Licence of the data (SPDX-style id, e.g. `OGL-UK-3.0`)."),
            Field("mode", "text", "`snapshot` for a bundled file, `live` for a download, `inbox` for a report document a user added to the reports inbox.",
                  allowed=("snapshot", "live", "inbox")),
            Field("landed_path", "text", "Path of the content-addressed copy in the raw landing store, relative to the warehouse folder."),
        ),
    ),
]
