"""Reconciliation: each numeric claim in a report matched to the warehouse figure that should reproduce it."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import AREA_CODE

TABLES = [
    Table(
        name="mart_reconciliation__claims",
        description="Every numeric claim from core_reports__claims with the warehouse figure that should reproduce it and a verdict: "
                    "`reproduced` (within a tolerance that respects the published rounding), `revised` (the claim matches an earlier "
                    "vintage of the source, which has since been re-published), `mismatch`, or `unverifiable` (no primary data: `reason` says what is missing).",
        grain="one row per claim",
        primary_key=("claim_id",),
        fields=(
            Field("claim_id", "text", "The claim (joins `core_reports__claims.claim_id`)."),
            Field("document_id", "text", "The document the claim is in (joins `core_reports__documents`)."),
            Field("page", "integer", "Page of the claim (text documents: line number).", ge=1),
            Field("claim_text", "text", "The sentence or label carrying the figure."),
            Field("measure", "text", "What the claim was matched as measuring (e.g. `research funding per head`, `healthy life expectancy`), or the report's hint when unmatched.", nullable=True),
            AREA_CODE.but(nullable=True, description="The area the claim is about, when one was matched."),
            Field("sex", "text", "Sex the claim refers to, when stated.", nullable=True, allowed=("persons", "female", "male")),
            Field("period", "text", "Period the claim refers to (stated, or inferred as noted in `reason`).", nullable=True),
            Field("published_value", "double", "The figure as the report printed it (scale applied)."),
            Field("unit", "text", "Unit of the published and warehouse values."),
            Field("warehouse_value", "double", "The warehouse's figure for the same measure, place and period (NULL when unverifiable).", nullable=True),
            Field("earlier_value", "double", "For `revised`: the earlier vintage's value that the claim matches.", nullable=True),
            Field("tolerance", "double", "Largest difference still counted as reproduced, in the claim's unit (half the last printed digit, or a stated relative tolerance).", nullable=True, ge=0),
            Field("difference", "double", "warehouse_value − published_value.", nullable=True),
            Field("status", "text", "The verdict.", allowed=("reproduced", "revised", "mismatch", "unverifiable")),
            Field("warehouse_source", "text", "Which warehouse table, key and basis the warehouse value comes from.", nullable=True),
            Field("reason", "text", "Why the verdict: the method, the tolerance's origin, or what is missing."),
        ),
    ),
]
