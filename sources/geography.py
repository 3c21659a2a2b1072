"""Geography: areas and their dated links, from the ONS lookups, mySociety's register and our amendments.

``build_bridge(files)`` reads the bundled lookups and returns three frames:

* current areas (the 296 April-2023 LADs, current counties and combined authorities, the 9
  regions, England and the analysis groups),
* former areas (LADs and counties merged away in the 2019-2023 reorganisations, abolished
  combined authorities),
* membership: LAD within county / combined authority / region, region within country and group,
  and predecessor ``succeeded_by`` successor, each with the dates it held.

Lookups name their columns with the vintage (``LAD23CD``); columns are found by pattern, and a
lookup that lacks an expected column, or lists a code twice, fails with a message saying so.
``lad_footprints(membership, areas)`` flattens the bridge to "which LADs made up area X when".
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from sources.inputs import InputFile, SourceFormatError

ENGLAND = "E92000001"
LAD_PATTERN = re.compile(r"^E0[6-9]\d{6}$")
_LAD_TYPE_BY_PREFIX = {"E06": "unitary", "E07": "non_metropolitan", "E08": "metropolitan", "E09": "london_borough"}

AREA_COLUMNS = ["area_code", "area_name", "area_type", "vintage", "lad_type", "valid_from", "valid_to", "is_current",
                "source_id", "source_sha256", "source_locator"]
MEMBERSHIP_COLUMNS = ["child_code", "parent_code", "child_type", "parent_type", "relationship", "valid_from", "valid_to",
                      "valid_from_key", "source_id", "source_sha256", "source_locator"]


@dataclass(frozen=True)
class Bridge:
    areas: pd.DataFrame
    former_areas: pd.DataFrame
    membership: pd.DataFrame


def _read_csv(f: InputFile) -> pd.DataFrame:
    frame = pd.read_csv(f.path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def _column(frame: pd.DataFrame, pattern: str, f: InputFile) -> str:
    matches = [c for c in frame.columns if re.fullmatch(pattern, c, flags=re.IGNORECASE)]
    if len(matches) != 1:
        raise SourceFormatError(f"{f.label}: expected one column matching {pattern!r}, found {matches or 'none'} among {list(frame.columns)}")
    return matches[0]


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _last_day(end_text: str) -> dt.date | None:
    """mySociety records an abolition as 31 March or as 1 April; either way the last day is 31 March."""
    end = _date(end_text)
    if end and (end.month, end.day) == (4, 1):
        end -= dt.timedelta(days=1)
    return end


def _unique_pairs(frame: pd.DataFrame, key: str, value: str, f: InputFile) -> pd.DataFrame:
    """Distinct key→value pairs; a key mapped to two different values is an error in the lookup."""
    pairs = frame[[key, value]].drop_duplicates()
    clashes = pairs[pairs.duplicated(key, keep=False)]
    if not clashes.empty:
        first = clashes.sort_values(key).head(4).to_dict("records")
        raise SourceFormatError(f"{f.label}: {key} maps to more than one {value}, e.g. {first}")
    return pairs


def _no_duplicate_codes(frame: pd.DataFrame, code: str, f: InputFile) -> None:
    dupes = frame[frame.duplicated(code, keep=False)]
    if not dupes.empty:
        raise SourceFormatError(f"{f.label}: code(s) listed more than once: {sorted(dupes[code].unique())[:5]}")


def _area(code, name, area_type, vintage, f: InputFile, locator, *, valid_from=None, valid_to=None) -> dict:
    return {
        "area_code": code, "area_name": name, "area_type": area_type, "vintage": vintage,
        "lad_type": _LAD_TYPE_BY_PREFIX.get(code[:3]) if area_type == "lad" else None,
        "valid_from": valid_from, "valid_to": valid_to, "is_current": valid_to is None,
        "source_id": f.source_id, "source_sha256": f.sha256, "source_locator": locator,
    }


def _link(child, parent, child_type, parent_type, f: InputFile, locator, *, relationship="within", valid_from=None, valid_to=None) -> dict:
    return {
        "child_code": child, "parent_code": parent, "child_type": child_type, "parent_type": parent_type,
        "relationship": relationship, "valid_from": valid_from, "valid_to": valid_to,
        "valid_from_key": valid_from.isoformat() if valid_from else "-",
        "source_id": f.source_id, "source_sha256": f.sha256, "source_locator": locator,
    }


def as_date(value) -> dt.date | None:
    """A date, or None for NULL/NaN/NaT (frames may hold any of them)."""
    if value is None or pd.isna(value):
        return None
    return value.date() if isinstance(value, pd.Timestamp) else value


def _overlap(a_from, a_to, b_from, b_to) -> tuple[dt.date | None, dt.date | None] | None:
    """Intersection of two date intervals (None bounds are open); None when they do not meet."""
    a_from, a_to, b_from, b_to = map(as_date, (a_from, a_to, b_from, b_to))
    lo = max((d for d in (a_from, b_from) if d), default=None)
    hi = min((d for d in (a_to, b_to) if d), default=None)
    if lo and hi and lo > hi:
        return None
    return lo, hi


def build_bridge(files: dict[str, InputFile]) -> Bridge:
    """Areas, former areas and dated membership from the bundled lookups (keys are source ids)."""
    lad23_f, wd19_f, lad18_f = files["ons_geo_lad23_itl21"], files["ons_geo_wd19_hierarchy"], files["ons_geo_lad18_rgn18"]
    cauth19_f, mys_f = files["ons_geo_lad19_cauth19"], files["mysociety_local_authorities"]
    amend_f, groups_f = files["observatory_geo_amendments"], files["observatory_analysis_groups"]

    # --- read and check the lookups -------------------------------------------------------------
    lad23 = _read_csv(lad23_f)
    c_lad23, c_lad23nm, c_itl1 = (_column(lad23, p, lad23_f) for p in (r"LAD\d{2}CD", r"LAD\d{2}NM", r"ITL1\d{2}CD"))
    lad23 = lad23[lad23[c_lad23].str.match(LAD_PATTERN)]
    lad23_pairs = _unique_pairs(lad23, c_lad23, c_itl1, lad23_f)
    lad23_names = _unique_pairs(lad23, c_lad23, c_lad23nm, lad23_f)

    wd19 = _read_csv(wd19_f)
    c_lad19, c_lad19nm, c_cty19, c_cty19nm, c_rgn19, c_rgn19nm, c_ctry19 = (
        _column(wd19, p, wd19_f) for p in (r"LAD\d{2}CD", r"LAD\d{2}NM", r"CTY\d{2}CD", r"CTY\d{2}NM", r"RGN\d{2}CD", r"RGN\d{2}NM", r"CTRY\d{2}CD")
    )
    wd19 = wd19[wd19[c_ctry19] == ENGLAND]
    lad19 = wd19[[c_lad19, c_lad19nm, c_cty19, c_cty19nm, c_rgn19, c_rgn19nm]].drop_duplicates()
    _unique_pairs(lad19, c_lad19, c_rgn19, wd19_f)
    _unique_pairs(lad19, c_lad19, c_cty19, wd19_f)

    lad18 = _read_csv(lad18_f)
    c_lad18, c_lad18nm, c_rgn18 = (_column(lad18, p, lad18_f) for p in (r"LAD\d{2}CD", r"LAD\d{2}NM", r"RGN\d{2}CD"))
    _no_duplicate_codes(lad18, c_lad18, lad18_f)

    cauth19 = _read_csv(cauth19_f)
    c_lad_ca, c_ca19, c_ca19nm = (_column(cauth19, p, cauth19_f) for p in (r"LAD\d{2}CD", r"CAUTH\d{2}CD", r"CAUTH\d{2}NM"))
    _no_duplicate_codes(cauth19, c_lad_ca, cauth19_f)

    mys = _read_csv(mys_f)
    needed = ["local-authority-code", "official-name", "nice-name", "gss-code", "start-date", "end-date", "replaced-by",
              "nation", "local-authority-type", "county-la", "combined-authority", "current-authority"]
    missing = [c for c in needed if c not in mys.columns]
    if missing:
        raise SourceFormatError(f"{mys_f.label}: expected column(s) {missing} not found")
    mys = mys[mys["nation"] == "England"]
    _no_duplicate_codes(mys[mys["gss-code"] != ""], "gss-code", mys_f)
    by_three = mys.set_index("local-authority-code")
    by_gss = mys[mys["gss-code"] != ""].set_index("gss-code")

    amend = _read_csv(amend_f)
    groups = _read_csv(groups_f)

    # --- regions and England --------------------------------------------------------------------
    regions = lad19[[c_rgn19, c_rgn19nm]].drop_duplicates().sort_values(c_rgn19)
    if len(regions) != 9:
        raise SourceFormatError(f"{wd19_f.label}: expected the 9 English regions, found {len(regions)}")
    region_name = dict(zip(regions[c_rgn19], regions[c_rgn19nm]))
    areas = [_area(ENGLAND, "England", "country", "2023", wd19_f, f"{c_ctry19}={ENGLAND}")]
    areas += [_area(code, name, "region", "2023", wd19_f, f"{c_rgn19}={code}") for code, name in region_name.items()]
    links = [_link(code, ENGLAND, "region", "country", wd19_f, f"{c_rgn19}={code}") for code in region_name]

    # ITL1 → region, derived from the LADs the 2023 and 2019 lookups share (every English ITL1 is a region).
    shared = lad23_pairs.merge(lad19[[c_lad19, c_rgn19]], left_on=c_lad23, right_on=c_lad19)
    itl_to_region = _unique_pairs(shared, c_itl1, c_rgn19, lad23_f).set_index(c_itl1)[c_rgn19].to_dict()

    # --- LADs: current (April 2023) and former (2018/2019 vintages) ------------------------------
    lad_from, lad_to, lad_vintage = {}, {}, {}
    current_lads = set(lad23_pairs[c_lad23])
    names23 = dict(zip(lad23_names[c_lad23], lad23_names[c_lad23nm]))
    itl1_of = dict(zip(lad23_pairs[c_lad23], lad23_pairs[c_itl1]))  # one ITL1 per LAD (_unique_pairs)
    for code in sorted(current_lads):
        start = _date(by_gss.at[code, "start-date"]) if code in by_gss.index else None
        lad_from[code] = start if start and start.year >= 2019 else None
        areas.append(_area(code, names23[code], "lad", "2023", lad23_f, f"{c_lad23}={code}", valid_from=lad_from[code]))
        itl = itl1_of[code]
        if itl not in itl_to_region:
            raise SourceFormatError(f"{lad23_f.label}: LAD {code} is in ITL1 {itl}, which maps to no English region")
        links.append(_link(code, itl_to_region[itl], "lad", "region", lad23_f, f"{c_lad23}={code}", valid_from=lad_from[code]))

    former = []
    former_codes = {}
    for row in lad19.to_dict("records"):
        code = row[c_lad19]
        if code in current_lads:
            continue
        former_codes[code] = (row[c_lad19nm], row[c_rgn19], "2019", wd19_f, f"{c_lad19}={code}")
    for row in lad18.to_dict("records"):
        code = row[c_lad18]
        if code in current_lads or code in former_codes or not LAD_PATTERN.match(code):
            continue
        former_codes[code] = (row[c_lad18nm], row[c_rgn18], "2018", lad18_f, f"{c_lad18}={code}")
    for code, (name, region, vintage, f, locator) in sorted(former_codes.items()):
        if code not in by_gss.index or not by_gss.at[code, "end-date"]:
            raise SourceFormatError(f"{mys_f.label}: LAD {code} ({name}) is in the {vintage} lookup but not current, and the register gives no end date")
        lad_to[code] = _last_day(by_gss.at[code, "end-date"])
        lad_vintage[code] = vintage
        former.append(_area(code, name, "lad", vintage, f, locator, valid_to=lad_to[code]))
        links.append(_link(code, region, "lad", "region", f, locator, valid_to=lad_to[code]))

    # --- predecessor → successor ------------------------------------------------------------------
    def gss_of_three(three: str) -> str:
        return by_three.at[three, "gss-code"]

    for code in sorted(set(former_codes) | set(by_gss.index[(by_gss["local-authority-type"] == "CTY") & (by_gss["current-authority"] != "True")])):
        if code not in by_gss.index:
            continue
        replaced = [r.strip() for r in by_gss.at[code, "replaced-by"].split(",") if r.strip()]
        child_type = "county" if code.startswith("E10") else "lad"
        end = _last_day(by_gss.at[code, "end-date"])
        for three in replaced:
            successor = gss_of_three(three)
            links.append(_link(code, successor, child_type, "county" if successor.startswith("E10") else "lad", mys_f,
                               f"local-authority-code={by_gss.at[code, 'local-authority-code']}: replaced-by={three}",
                               relationship="succeeded_by", valid_from=end + dt.timedelta(days=1) if end else None))

    # --- counties -----------------------------------------------------------------------------------
    counties = mys[mys["local-authority-type"] == "CTY"]
    county_end = {}
    for row in counties.to_dict("records"):
        code = row["gss-code"]
        current = row["current-authority"] == "True"
        end = None if current else _last_day(row["end-date"])
        county_end[code] = end
        record = _area(code, row["nice-name"], "county", "2023" if current else "2019", mys_f,
                       f"local-authority-code={row['local-authority-code']}", valid_to=end)
        (areas if current else former).append(record)
    # LAD → county: the 2019 lookup's pairs, and the register's current pairs.
    pairs19 = {(lad, county) for lad, county in zip(lad19[c_lad19], lad19[c_cty19]) if county.startswith("E10")}
    pairs_now = set()
    for row in mys[(mys["current-authority"] == "True") & (mys["county-la"] != "")].to_dict("records"):
        if row["local-authority-type"] in ("NMD",) and row["county-la"] in by_three.index:
            pairs_now.add((row["gss-code"], gss_of_three(row["county-la"])))
    for lad, county in sorted(pairs19 | pairs_now):
        f, locator = (wd19_f, f"{c_lad19}={lad}") if (lad, county) in pairs19 else (mys_f, f"gss-code={lad}: county-la")
        end = min((d for d in (lad_to.get(lad), county_end.get(county)) if d), default=None)
        links.append(_link(lad, county, "lad", "county", f, locator, valid_to=end))

    # --- combined authorities -------------------------------------------------------------------
    amended_cas = set(amend["ca_code"])
    ca_rows = mys[mys["local-authority-type"] == "COMB"]
    ca_start = {}
    ca_end = amend.groupby("ca_code")["valid_to"].agg(lambda s: None if (s == "").any() else max(s)).to_dict()
    for row in ca_rows.to_dict("records"):
        code = row["gss-code"]
        ca_start[code] = _date(row["start-date"])
        end = _date(ca_end[code]) if code in amended_cas and ca_end.get(code) else None
        record = _area(code, row["official-name"], "combined_authority", "2023" if end is None else "2019", mys_f,
                       f"local-authority-code={row['local-authority-code']}", valid_from=ca_start[code], valid_to=end)
        (areas if end is None else former).append(record)
    for code in sorted(amended_cas - set(ca_rows["gss-code"])):
        first = amend[amend["ca_code"] == code].iloc[0]
        start = min(amend.loc[amend["ca_code"] == code, "valid_from"])
        ca_start[code] = _date(start)
        areas.append(_area(code, first["ca_name"], "combined_authority", "curated", amend_f, f"ca_code={code}", valid_from=ca_start[code]))
    for i, row in zip(amend.index, amend.to_dict("records")):
        links.append(_link(row["lad_code"], row["ca_code"], "lad", "combined_authority", amend_f, f"line {i + 2}",
                           valid_from=_date(row["valid_from"]), valid_to=_date(row["valid_to"])))
    three_to_ca = dict(zip(ca_rows["local-authority-code"], ca_rows["gss-code"]))
    for row in mys[(mys["current-authority"] == "True") & (mys["combined-authority"] != "")].to_dict("records"):
        ca = three_to_ca.get(row["combined-authority"])
        if ca is None or ca in amended_cas:
            continue  # GLA (London boroughs) is not a combined authority; amended CAs come from the amendments
        member_type = "lad" if LAD_PATTERN.match(row["gss-code"]) else "county" if row["local-authority-type"] == "CTY" else None
        if member_type is None:
            continue
        start = max((d for d in (ca_start.get(ca), lad_from.get(row["gss-code"])) if d), default=None)
        links.append(_link(row["gss-code"], ca, member_type, "combined_authority", mys_f,
                           f"gss-code={row['gss-code']}: combined-authority={row['combined-authority']}", valid_from=start))
    now_pairs = {(l["child_code"], l["parent_code"]) for l in links if l["parent_type"] == "combined_authority"}
    for row in cauth19.to_dict("records"):
        lad, ca = row[c_lad_ca], row[c_ca19]
        if ca in amended_cas or (lad, ca) in now_pairs:
            continue
        links.append(_link(lad, ca, "lad", "combined_authority", cauth19_f, f"{c_lad_ca}={lad}",
                           valid_from=ca_start.get(ca), valid_to=lad_to.get(lad)))

    # --- analysis groups --------------------------------------------------------------------------
    for code, group in groups.groupby("group_code", sort=True):
        areas.append(_area(code, group["group_name"].iloc[0], "group", "curated", groups_f, f"group_code={code}"))
        for i, row in zip(group.index, group.to_dict("records")):
            if row["region_code"] not in region_name:
                raise SourceFormatError(f"{groups_f.label}: group {code} names {row['region_code']}, which is not an English region")
            links.append(_link(row["region_code"], code, "region", "group", groups_f, f"line {i + 2}"))

    # An area created by a reorganisation starts the day its predecessors ended (the register
    # does not always say), and its links to parents start then too.
    born = {}
    for link in links:
        if link["relationship"] == "succeeded_by" and link["valid_from"]:
            born[link["parent_code"]] = min(link["valid_from"], born.get(link["parent_code"], link["valid_from"]))
    for record in areas + former:
        if record["valid_from"] is None and record["area_code"] in born:
            record["valid_from"] = born[record["area_code"]]
    for link in links:
        if link["relationship"] == "within" and link["valid_from"] is None and link["child_code"] in born:
            link["valid_from"] = born[link["child_code"]]
            link["valid_from_key"] = link["valid_from"].isoformat()

    areas_frame = pd.DataFrame(areas, columns=AREA_COLUMNS)
    former_frame = pd.DataFrame(former, columns=AREA_COLUMNS)
    both = pd.concat([areas_frame, former_frame])
    dupes = both[both.duplicated("area_code", keep=False)]
    if not dupes.empty:
        raise SourceFormatError(f"area code(s) listed as both current and former: {sorted(dupes['area_code'].unique())}")
    membership = pd.DataFrame(links, columns=MEMBERSHIP_COLUMNS)
    # The same link can reach us from two lookups: keep the first (most authoritative) source.
    membership = membership.drop_duplicates(["child_code", "parent_code", "relationship", "valid_from_key"])
    return Bridge(areas_frame, former_frame, membership.reset_index(drop=True))


def lad_footprints(membership: pd.DataFrame, all_areas: pd.DataFrame) -> pd.DataFrame:
    """Every area's member LADs with the date range each was a member (groups via regions)."""
    within = membership[membership["relationship"] == "within"]
    lads = all_areas[all_areas["area_type"] == "lad"]
    lad_life = dict(zip(lads["area_code"], zip(lads["valid_from"], lads["valid_to"])))
    rows = [(lad, lad, valid_from, valid_to) for lad, (valid_from, valid_to) in lad_life.items()]

    def links(child_type: str):
        chosen = within[within["child_type"] == child_type]
        return zip(chosen["parent_code"], chosen["child_code"], chosen["valid_from"], chosen["valid_to"])

    for parent, lad, valid_from, valid_to in links("lad"):
        span = _overlap(valid_from, valid_to, *lad_life[lad]) if lad in lad_life else None
        if span:
            rows.append((parent, lad, *span))
    # One level up: counties → combined authorities (e.g. Lincolnshire in Greater Lincolnshire),
    # regions → country and groups. A county's or region's own LADs are all direct links.
    direct: dict[str, list[tuple]] = {}
    for area, lad, valid_from, valid_to in rows:
        direct.setdefault(area, []).append((lad, valid_from, valid_to))
    for child_type in ("county", "region"):
        for parent, child, valid_from, valid_to in links(child_type):
            for lad, member_from, member_to in direct.get(child, []):
                span = _overlap(valid_from, valid_to, member_from, member_to)
                if span:
                    rows.append((parent, lad, *span))
    frame = pd.DataFrame(rows, columns=["area_code", "lad_code", "valid_from", "valid_to"])
    frame["valid_from_key"] = frame["valid_from"].map(lambda d: d.isoformat() if isinstance(d, dt.date) else "-")
    return frame.drop_duplicates(["area_code", "lad_code", "valid_from_key"]).reset_index(drop=True)


class FootprintIndex:
    """The footprints of one frame indexed by area once, so that many questions (which LADs made up an area on a
    day; when its footprint first began) do not each scan the frame and parse its dates again."""

    def __init__(self, footprints: pd.DataFrame):
        self._spans: dict[str, list[tuple[str, pd.Timestamp, pd.Timestamp]]] = defaultdict(list)
        self._starts: dict[str, list[dt.date]] = defaultdict(list)
        starts, ends = pd.to_datetime(footprints["valid_from"]), pd.to_datetime(footprints["valid_to"])
        for area, lad, start, end, raw in zip(footprints["area_code"].tolist(), footprints["lad_code"].tolist(), starts, ends, footprints["valid_from"]):
            self._spans[area].append((lad, start, end))
            if (day := as_date(raw)) is not None:
                self._starts[area].append(day)

    def lads_in(self, area_code: str, on: dt.date) -> list[str]:
        """The LADs that made up ``area_code`` on date ``on`` (sorted): a footprint holds from its start to its end,
        both inclusive, an open end (or start) holding for ever."""
        day = pd.Timestamp(on)
        return sorted(lad for lad, start, end in self._spans.get(area_code, ())
                      if (pd.isna(start) or start <= day) and (pd.isna(end) or end >= day))

    def first_day(self, area_code: str) -> dt.date | None:
        """The earliest start of the area's footprint, or None."""
        starts = self._starts.get(area_code)
        return min(starts) if starts else None


def lads_in(footprints: pd.DataFrame, area_code: str, on: dt.date) -> list[str]:
    """The LADs that made up ``area_code`` on date ``on`` (sorted); for many questions, index once with
    :class:`FootprintIndex`."""
    return FootprintIndex(footprints[footprints["area_code"] == area_code]).lads_in(area_code, on)


def succession(membership: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The reorganisations, one step each way: (abolished code → the codes that replaced it, successor code →
    the codes it replaced), from the bridge's ``succeeded_by`` links. Missing codes map to an empty list."""
    succ = membership[membership["relationship"] == "succeeded_by"]
    successors: dict[str, list[str]] = defaultdict(list)
    predecessors: dict[str, list[str]] = defaultdict(list)
    for child, parent in zip(succ["child_code"], succ["parent_code"]):
        successors[child].append(parent)
        predecessors[parent].append(child)
    return successors, predecessors


def predecessors(membership: pd.DataFrame) -> dict[str, list[str]]:
    """Successor code → the codes it replaced (transitively: Somerset ← Somerset West and Taunton ← Taunton Deane)."""
    return succession(membership)[1]
