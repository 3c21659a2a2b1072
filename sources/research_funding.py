"""Research funding: the award model shared by every funder, classification, placement, and file readers.

Every funder's data becomes the same *award* frame (``AWARD_COLUMNS``): one row per award (or, for
Innovate UK, per participant's grant), its amount in pounds, dates, the postcode of the organisation
it is attributed to, and its type:

* ``direct_award``: a grant for a specific project, fellowship or programme,
* ``infrastructure``: funding for facilities, centres, networks, institutes' core funding or capital,
* ``studentship``: doctoral studentships and training grants.

:func:`classify` applies ordered keyword rules to the funder's own category fields and records the
rule that fired. :func:`place` puts each award in a LAD through an NSPL/ONSPD lookup; an award that
cannot be placed is kept with ``status = 'unplaced'`` and the reason (no postcode, postcode not in
the lookup, …), never dropped. A negative amount is a :class:`SourceFormatError` naming the award.

Readers here: award spreadsheets in the UK Health Research Analysis (``<year>_Data_1Line``) and
Innovate UK transparency shapes, and the curated file of published totals. The live API clients are
`sources.gtr` (UKRI Gateway to Research) and `sources.nihr` (NIHR Open Data).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from python_calamine import CalamineWorkbook

from sources.inputs import InputFile, SourceFormatError, require_columns
from sources.postcodes import looks_like_postcode, normalise

FUNDING_TYPES = ("direct_award", "infrastructure", "studentship")
AWARD_COLUMNS = [
    "award_id", "dataset", "funder", "programme", "title", "organisation", "postcode", "amount_gbp", "value_basis",
    "start_date", "end_date", "award_year", "funding_type", "classification_rule", "funder_category",
    "excluded_reason",  # set when the source says the award is not to be counted (e.g. participant withdrawn)
    "location_note",  # why there is no postcode, when the source says (e.g. a dataset without locations)
]
PLACED_COLUMNS = [*AWARD_COLUMNS, "postcode_key", "lad_code", "status", "reason"]

# Ordered rules: the first whose pattern matches the funder's category text decides the type.
CLASSIFICATION_RULES = (
    ("studentship", re.compile(r"studentship|doctoral|\bphd\b|\bdtp\b|\bcdt\b|training grant|doctoral training|centre for doctoral", re.I)),
    ("infrastructure", re.compile(
        r"infrastructure|capital|facilit|biomedical research centre|\bbrc\b|\bcrf\b|clinical research network|\bcrn\b|"
        r"research network|applied research collaboration|\barc\b|core fund|institute project|intramural|unit funding|"
        r"\bunit\b.*\bcore\b|catapult|equipment|bioresource|patient safety research collaboration|health protection research unit|"
        r"research design service|indirect", re.I)),
)


def classify(*texts) -> tuple[str, str]:
    """(funding_type, rule) from the funder's own category fields; ``direct_award`` when no rule matches."""
    joined = " | ".join(str(t) for t in texts if t is not None and not (isinstance(t, float) and pd.isna(t)) and str(t).strip())
    for funding_type, pattern in CLASSIFICATION_RULES:
        match = pattern.search(joined)
        if match:
            return funding_type, f"{funding_type}: matched {match.group(0)!r} in {joined[:120]!r}"
    return "direct_award", f"direct_award: no infrastructure or studentship term in {joined[:120]!r}" if joined else "direct_award: no category given"


def check_amounts(frame: pd.DataFrame, where: str) -> None:
    """A negative award amount is an error in the source, reported with the awards it affects."""
    amounts = pd.to_numeric(frame["amount_gbp"], errors="coerce")
    negative = frame[amounts < 0]
    if not negative.empty:
        examples = ", ".join(f"{r.award_id} ({r.amount_gbp:,.2f})" for r in negative.head(5).itertuples())
        raise SourceFormatError(f"{where}: {len(negative)} award(s) with a negative amount: {examples}; "
                                "a negative award is not a valid grant value (check for a clawback or a sign error at the publisher)")


def finish_awards(records: list[dict] | pd.DataFrame, f: InputFile, locators) -> pd.DataFrame:
    """The award frame with classification filled where missing, amounts checked, provenance stamped."""
    frame = pd.DataFrame(records).reindex(columns=AWARD_COLUMNS) if not isinstance(records, pd.DataFrame) else records.reindex(columns=AWARD_COLUMNS)
    frame["amount_gbp"] = pd.to_numeric(frame["amount_gbp"], errors="coerce")
    check_amounts(frame, f.label)
    for col in ("start_date", "end_date"):
        frame[col] = pd.to_datetime(frame[col], errors="coerce").dt.date
    return f.stamp(frame, list(locators))


def place(awards: pd.DataFrame, lookup: pd.DataFrame | None, lookup_label: str = "the postcode lookup") -> pd.DataFrame:
    """Awards with ``lad_code``, ``status`` (placed / unplaced / excluded) and ``reason``; every input row kept."""
    out = awards.copy()
    out["postcode_key"] = out["postcode"].map(normalise)
    out["lad_code"] = None
    out["status"] = "unplaced"
    out["reason"] = None
    no_amount = out["amount_gbp"].isna()
    no_postcode = out["postcode_key"].isna()
    malformed = ~no_postcode & ~out["postcode_key"].map(looks_like_postcode)
    if lookup is None:
        out.loc[~no_postcode & ~malformed, "reason"] = "no postcode lookup was available to place the postcode"
    else:
        found = out["postcode_key"].map(lookup["lad_code"]) if not lookup.empty else pd.Series(None, index=out.index)
        in_lookup = out["postcode_key"].isin(lookup.index)
        valid_lad = found.fillna("").str.match(r"^[EWSN]\d{8}$") & ~found.fillna("").str.endswith("99999999")
        placed = ~no_postcode & in_lookup & valid_lad
        out.loc[placed, "lad_code"] = found[placed]
        out.loc[placed, "status"] = "placed"
        out.loc[~no_postcode & ~malformed & ~in_lookup, "reason"] = "postcode " + out["postcode"].astype(str) + f" is not in {lookup_label}"
        out.loc[~no_postcode & in_lookup & ~valid_lad, "reason"] = "postcode " + out["postcode"].astype(str) + f" has no LAD in {lookup_label}"
    out.loc[malformed, "reason"] = "postcode " + out["postcode"].astype(str) + " is not a valid UK postcode"
    noted = no_postcode & out["location_note"].notna()
    out.loc[noted, "reason"] = out.loc[noted, "location_note"]
    out.loc[no_postcode, "reason"] = out.loc[no_postcode, "reason"].fillna("no postcode given for the organisation")
    # Awards without an amount, or that the source says not to count, are kept and listed, but not counted.
    out.loc[no_amount, "status"] = "excluded"
    out.loc[no_amount, "reason"] = "no award amount published"
    excluded = out["excluded_reason"].notna()
    out.loc[excluded, "status"] = "excluded"
    out.loc[excluded, "reason"] = out.loc[excluded, "excluded_reason"]
    return out


# --- award spreadsheets ---------------------------------------------------------------------------

def _cell_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)):
        return (dt.datetime(1899, 12, 30) + dt.timedelta(days=float(value))).date()  # Excel serial
    parsed = pd.to_datetime(str(value), errors="coerce", dayfirst=True)
    return None if pd.isna(parsed) else parsed.date()


def _sheet_table(path, f: InputFile, marker: re.Pattern, sheet_pattern: re.Pattern | None = None) -> tuple[str, int, list[str], list[list]]:
    """(sheet, header row index, header, rows) of the first sheet whose header row has a cell matching ``marker``."""
    if str(path).lower().endswith(".csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, header=None, encoding="utf-8-sig")
        rows, sheets = frame.values.tolist(), [("csv", None)]
    else:
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = [(name, workbook) for name in workbook.sheet_names if sheet_pattern is None or sheet_pattern.match(name)]
    seen = []
    for name, workbook in sheets:
        if workbook is not None:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for i, row in enumerate(rows[:30]):
            header = [str(c).strip() for c in row]
            if any(marker.fullmatch(h) for h in header):
                return name, i, header, rows
        seen.append(name)
    raise SourceFormatError(f"{f.label}: no header row with a column matching {marker.pattern!r} in the first 30 rows of sheet(s) {seen}")


def _column(header: list[str], pattern: str) -> int | None:
    for j, h in enumerate(header):
        if re.fullmatch(pattern, h, flags=re.I):
            return j
    return None


def parse_ukhra(f: InputFile) -> pd.DataFrame:
    """A UK Health Research Analysis award file (sheet ``<year>_Data_1Line``; spend in ``<year>AnnualisedValue``).

    The public dataset has no research-location column; if a postcode column (any header containing
    "postcode") or an award-type column ("AwardType", "IndirectAward", "AwardCategory") is present it
    is used, otherwise every award is listed as unplaced with that reason.
    """
    sheet, h, header, rows = _sheet_table(f.path, f, re.compile(r"\d{4}\s*AnnualisedValue", re.I), re.compile(r"^\d{4}_Data_1Line$|^csv$"))
    value_col = _column(header, r"(\d{4})\s*AnnualisedValue")
    year = int(re.match(r"\d{4}", header[value_col]).group(0))
    cols = {name: _column(header, pattern) for name, pattern in {
        "id": r"HRCS\d{4}_ID|HRCS_ID|GrantCode_Public", "funder": r"FundingOrganisation|Funder", "ref": r"OrganisationReference|GrantCode_Public",
        "title": r"AwardTitle|Title_Public", "postcode": r".*post\s*code.*", "type": r"AwardType|IndirectAward|AwardCategory|Award\s*Type",
        "org": r"(Research|Host|Lead)?\s*(Organisation|Institution)(Name)?",
    }.items()}
    if cols["id"] is None and cols["ref"] is None:
        raise SourceFormatError(f"{f.label}, sheet {sheet!r}: no award id column (HRCS<year>_ID or OrganisationReference) in header row {h + 1}: {header[:12]}")
    records, locators = [], []
    for i in range(h + 1, len(rows)):
        row = rows[i]
        get = lambda key, row=row: (str(row[cols[key]]).strip() if cols[key] is not None and cols[key] < len(row) and str(row[cols[key]]).strip() else None)  # noqa: E731
        award_id = get("id") or get("ref")
        if not award_id:
            continue
        raw_type = get("type")
        funding_type, rule = classify(raw_type) if raw_type else ("direct_award", "direct_award: no award type given (UKHRA counts direct awards)")
        records.append({
            "award_id": f"{get('funder') or 'unknown'}:{award_id}", "dataset": f"ukhra{year}", "funder": get("funder"), "programme": None,
            "title": get("title"), "organisation": get("org"), "postcode": get("postcode"),
            "amount_gbp": row[value_col] if value_col < len(row) else None, "value_basis": "annualised_spend",
            "start_date": None, "end_date": None, "award_year": year, "funding_type": funding_type, "classification_rule": rule,
            "funder_category": raw_type,
            "location_note": None if cols["postcode"] is not None else f"the {year} UKHRA file has no research-location (postcode) column",
        })
        locators.append(f"{sheet} row {i + 1}")
    return finish_awards(records, f, locators)


IUK_REQUIRED = ["Project Number", "Participant Name", "Award Offered (£)", "Postcode", "Project Start Date", "Project End Date"]


def parse_innovate_uk(f: InputFile) -> pd.DataFrame:
    """An Innovate UK funded-projects transparency spreadsheet: one award row per participant's grant."""
    sheet, h, header, rows = _sheet_table(f.path, f, re.compile(r"Award Offered \(£\)"))
    frame = pd.DataFrame(rows[h + 1:], columns=header)
    require_columns(frame, IUK_REQUIRED, f"{f.label}, sheet {sheet!r}")
    frame["_row"] = range(h + 2, h + 2 + len(frame))
    frame = frame[frame["Project Number"].astype(str).str.strip() != ""]
    withdrawn_col = "Participant Withdrawn From Project" if "Participant Withdrawn From Project" in frame.columns else None
    records, locators = [], []
    for r in frame.to_dict("records"):
        product = r.get("Innovate UK Product Type")
        funding_type, rule = classify(product, r.get("Competition Title"), r.get("Programme Title"))
        start = _cell_date(r["Project Start Date"])
        withdrawn = withdrawn_col and str(r.get(withdrawn_col) or "").strip().lower() in ("withdrawn", "yes", "true", "y")
        records.append({
            "award_id": f"{str(r['Project Number']).strip()}:{str(r.get('CRN') or r['Participant Name']).strip()}",
            "dataset": "innovate_uk", "funder": "Innovate UK", "programme": r.get("Programme Title") or r.get("Competition Title"),
            "title": r.get("Project Title"), "organisation": r["Participant Name"], "postcode": r["Postcode"] or None,
            "amount_gbp": r["Award Offered (£)"] if r["Award Offered (£)"] != "" else None, "value_basis": "total_award",
            "start_date": start, "end_date": _cell_date(r["Project End Date"]), "award_year": start.year if start else None,
            "funding_type": funding_type, "classification_rule": rule, "funder_category": product,
            "excluded_reason": "participant withdrawn from the project" if withdrawn else None,
        })
        locators.append(f"{sheet} row {r['_row']}")
    return finish_awards(records, f, locators)


IUK_PAGE = "https://www.ukri.org/publications/innovate-uk-funded-projects-since-2004/"
_IUK_LINK = re.compile(r"""href=["']([^"']*IUK-\d{6}-[^"']*\.xlsx)["']""", re.I)


def discover_innovate_uk(session, page_url: str = IUK_PAGE) -> list[str]:
    """The current Innovate UK funded-projects workbook URLs, read from the publication page (their names change each release)."""
    from urllib.parse import urljoin

    from sources.http import FetchError, fetch

    page = fetch(session, page_url, expect="binary")
    links = sorted({urljoin(page.url, m) for m in _IUK_LINK.findall(page.content.decode("utf-8", "replace"))})
    if not links:
        raise FetchError(f"{page.url}: no 'IUK-DDMMYY-…xlsx' workbook link on the page; the publication page may have changed")
    return links


# --- published totals (curated) -----------------------------------------------------------------------

PUBLISHED_COLUMNS = ["area_code", "area_name_published", "year", "funding_type", "total_gbp", "published_per_head_gbp",
                     "population_year", "membership_date", "comparator_note", "publisher", "document", "document_sha256",
                     "document_lines", "quote"]


def parse_published_totals(f: InputFile) -> pd.DataFrame:
    """The curated CSV of funding totals and per-head figures printed in reports, each with its quote and place in the document."""
    frame = pd.read_csv(f.path, dtype=str, keep_default_na=False, encoding="utf-8-sig", comment=None)
    frame.columns = [c.strip() for c in frame.columns]
    require_columns(frame, PUBLISHED_COLUMNS, f.label)
    frame = frame.replace("", None)
    for col in ("total_gbp", "published_per_head_gbp"):
        frame[col] = pd.to_numeric(frame[col].str.replace(",", "", regex=False), errors="coerce")
    bad = frame[frame["total_gbp"].isna() & frame["published_per_head_gbp"].isna()]
    if not bad.empty:
        raise SourceFormatError(f"{f.label}: line(s) {[i + 2 for i in bad.index]} give neither a total nor a per-head figure")
    negative = frame[(frame["total_gbp"] < 0) | (frame["published_per_head_gbp"] < 0)]
    if not negative.empty:
        raise SourceFormatError(f"{f.label}: line(s) {[i + 2 for i in negative.index]} have a negative amount")
    unknown = sorted(set(frame["funding_type"]) - {*FUNDING_TYPES, "all"})
    if unknown:
        raise SourceFormatError(f"{f.label}: unknown funding_type(s) {unknown}; expected {[*FUNDING_TYPES, 'all']}")
    frame["year"] = frame["year"].astype(int)
    frame["population_year"] = frame["population_year"].fillna(frame["year"].astype(str)).astype(int)
    frame["membership_date"] = pd.to_datetime(frame["membership_date"]).dt.date
    return f.stamp(frame[PUBLISHED_COLUMNS], [f"line {i + 2}" for i in range(len(frame))])
