"""Reconciliation: each numeric claim in a report, the figure the observatory's data give for it, and one verdict."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import AREA_CODE

STATUS_MEANINGS = {
    "reproduced": "primary data the observatory holds gives the published figure within half its last printed digit.",
    "consistent": "the figure follows arithmetically from other figures in the same document (e.g. its own total) and our denominators, "
                  "but no primary data checks those inputs (the reason says so).",
    "revised": "the figure matches an earlier vintage we hold (named in `earlier_vintage`, with its publication date) and the current vintage differs.",
    "mismatch": "the data we hold for that measure, place and period disagree (`difference` says by how much).",
    "unverifiable": "we hold nothing that settles it; the reason says exactly what data would.",
}
STATUSES = tuple(STATUS_MEANINGS)

TABLES = [
    Table(
        name="mart_reconciliation__claims",
        description="Every claim from core_reports__claims with the figure the observatory's data give for it and one verdict (`status`): "
                    "`reproduced`, `consistent`, `revised`, `mismatch` or `unverifiable`. Tolerance is half the last printed digit everywhere; "
                    "the denominator rule of each claim kind is stated in `basis` and `reason` (per-head research funding: Census 2021 counts on "
                    "the stated footprint, with the mid-year estimate shown beside it).",
        grain="one row per claim",
        primary_key=("claim_id",),
        fields=(
            Field("claim_id", "text", "The claim (joins `core_reports__claims.claim_id`)."),
            Field("document_id", "text", "The document the claim is in (joins `core_reports__documents`)."),
            Field("page", "integer", "Page of the claim (text documents: line number).", ge=1),
            Field("line", "integer", "Line of the claim on its page.", ge=1),
            Field("claim_text", "text", "The sentence or chart label carrying the figure."),
            Field("figure", "text", "The figure as printed (e.g. `£42.10`, `1 year 10 months`, `$17 billion (£13 billion)`)."),
            Field("claim_kind", "text", "What the figure asserts (see `core_reports__claims.claim_kind`).",
                  allowed=("amount", "per_head", "count", "level", "share", "change", "ratio", "difference", "ranking")),
            Field("measure", "text", "What the claim was matched as measuring (e.g. `research funding per head`, `healthy life expectancy`, `population`).", nullable=True),
            AREA_CODE.but(nullable=True, description="The area the verdict is about (after reading a district as its combined authority, or a former code, when the reason says so)."),
            Field("place_name", "text", "The area's name (or the place as printed when it is not an area the observatory holds, e.g. the 'golden triangle').", nullable=True),
            Field("sex", "text", "Sex the figure refers to, when stated or read from a chart legend.", nullable=True, allowed=("persons", "female", "male")),
            Field("period", "text", "Period checked: as stated, or implied (the document's data year; the reason says which).", nullable=True),
            Field("published_value", "double", "The figure as the report printed it (scale applied; a currency conversion valued in pounds)."),
            Field("unit", "text", "Unit of the published and observatory values."),
            Field("warehouse_value", "double", "The observatory's figure for the same measure, place and period (or the figure computed from the document's own inputs, for `consistent`); NULL when unverifiable.", nullable=True),
            Field("earlier_value", "double", "For `revised`: the earlier vintage's value that the claim matches.", nullable=True),
            Field("earlier_vintage", "text", "For `revised`: which vintage, and the date it was published.", nullable=True),
            Field("tolerance", "double", "Half the last printed digit of the figure, in its unit: the largest difference still counted as agreeing.", nullable=True, ge=0),
            Field("difference", "double", "warehouse_value − published_value.", nullable=True),
            Field("status", "text", "The verdict. " + " ".join(f"`{k}`: {v}" for k, v in STATUS_MEANINGS.items()), allowed=STATUSES),
            Field("basis", "text", "The rule used for this claim kind: the denominator (e.g. `Census 2021 usual residents on the stated footprint`), or how a share was read.", nullable=True),
            Field("warehouse_source", "text", "Which table, key and inputs the observatory's figure comes from.", nullable=True),
            Field("reason", "text", "Why the verdict, in words: published vs ours, tolerance, period and place choices, earlier vintages, or what data would settle it."),
        ),
    ),
]
