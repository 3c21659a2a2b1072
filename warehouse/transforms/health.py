"""Health core tables from parsed Fingertips rows: vintages, the headline/inequality split, aggregates, definitions.

Pure pandas (no Dagster, no DuckDB): `pipelines.assets.health` reads the geography and population
tables, calls :func:`build_health` and lands what it returns.

* **Vintage.** A file that names its area type's vintage (``Districts & UAs (from Apr 2023)``) is
  taken at its word. Otherwise each period's LAD and county codes are matched against the geography:
  the boundary vintage (1 April of a reorganisation year) under which most of them were valid wins
  (ties go to the later vintage); a predecessor code published beside its successor keeps the last
  vintage it was valid in; a code the geography does not know gets no vintage (the asset check says so).
* **Aggregates** for combined authorities, regions and the analysis groups, where the publisher gives
  no figure for the area itself. The area's LADs (at the middle of the period, on the file's LAD
  vintage) are covered by the largest published areas that fit inside it (regions, counties, LADs).
  Counts and denominators are summed where the indicator allows it (95% CI by Byar's method);
  otherwise values are weighted by persons all-ages population (labelled
  ``population_weighted_estimate``). Never a plain average, and never a partial area, except that
  members with a suppressed value and under 1% of the area's population may be left out (named in
  ``source_locator``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sources.fingertips import Catalogue, Indicator
from sources.geography import FootprintIndex, as_date, succession
from warehouse.transforms.aggregation import translate_codes  # the spine's mapping of LAD codes across reorganisations

ENGLAND = "E92000001"
LAD_OR_COUNTY = re.compile(r"^E(0[6-9]|10)\d{6}$")
LAD = re.compile(r"^E0[6-9]\d{6}$")
AGGREGATE_TYPES = ("combined_authority", "region", "group")
UNIT_TYPES = ("lad", "county", "region")
MAX_SUPPRESSED_SHARE = 0.01
Z95 = 1.959963984540054

VALUE_EXTRAS = ["area_name", "publisher_area_type", "parent_code", "compared_to_parent", "lower_ci_99_8", "upper_ci_99_8",
                "recent_trend", "period_sortable"]


# --- vintages ----------------------------------------------------------------------------------------


def boundary_years(areas: pd.DataFrame) -> list[int]:
    """Years whose 1 April changed the LAD or county map (plus the earliest lookup vintage)."""
    units = areas[areas["area_type"].isin(["lad", "county"])]
    years = {d.year for d in map(as_date, units["valid_from"]) if d}
    years |= {(d + dt.timedelta(days=1)).year for d in map(as_date, units["valid_to"]) if d}
    numeric = [int(v) for v in units["vintage"] if str(v).isdigit()]
    if numeric:
        years.add(min(numeric))
    return sorted(years)


def _valid_on(life: tuple, day: dt.date) -> bool:
    start, end = life
    return (start is None or start <= day) and (end is None or end >= day)


def assign_vintages(parsed: pd.DataFrame, areas: pd.DataFrame) -> tuple[pd.Series, dict[tuple[str, str], str | None]]:
    """Each row's boundary vintage (text year or None) and each (indicator, period)'s primary vintage."""
    candidates = boundary_years(areas)
    life = {code: (as_date(f), as_date(t)) for code, f, t in zip(areas["area_code"], areas["valid_from"], areas["valid_to"])}
    valid_years = {code: frozenset(b for b in candidates if _valid_on(span, dt.date(b, 4, 1))) for code, span in life.items()}
    assigned: dict = {}  # row label -> vintage (a Series filled once at the end: setting rows one by one is slow)
    primary: dict[tuple[str, str], str | None] = {}
    for (indicator, period), group in parsed.groupby(["indicator_id", "period_label"], sort=False):
        declared = set(group["declared_vintage"].dropna())
        codes = [c for c in group["area_code"].unique() if LAD_OR_COUNTY.match(c)]
        if len(declared) == 1:
            chosen = declared.pop()
            assigned.update(dict.fromkeys(group.index, chosen))
            primary[(indicator, period)] = chosen
            continue
        if codes:
            best = max(candidates, key=lambda b: (sum(b in valid_years.get(c, ()) for c in codes), b))
            if not any(best in valid_years.get(c, ()) for c in codes):
                best = None
        else:
            best = candidates[-1] if candidates else None
        primary[(indicator, period)] = str(best) if best else None
        for idx, code in zip(group.index, group["area_code"]):
            if LAD_OR_COUNTY.match(code):
                years = valid_years.get(code, frozenset())
                v = best if best in years else (max(years) if years else None)
            else:
                v = best
            assigned[idx] = str(v) if v else None
    vintage = pd.Series([assigned.get(i) for i in parsed.index], index=parsed.index, dtype="object")
    return vintage, primary


# --- confidence intervals ----------------------------------------------------------------------------------


def byar_ci(count: float, denominator: float, multiplier: float, z: float = Z95) -> tuple[float | None, float | None]:
    """95% CI of a crude rate count/denominator x multiplier by Byar's approximation (as Fingertips uses)."""
    if count is None or denominator is None or pd.isna(count) or pd.isna(denominator) or denominator <= 0 or count < 0:
        return None, None
    lower = 0.0 if count == 0 else count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    return lower / denominator * multiplier, upper / denominator * multiplier


# --- aggregates -----------------------------------------------------------------------------------------------


class _Geography:
    """Fast look-ups over the geography tables for one build."""

    def __init__(self, areas: pd.DataFrame, footprints: pd.DataFrame, membership: pd.DataFrame, population: pd.DataFrame):
        self.areas = areas
        self.footprints = footprints
        self.membership = membership
        self.type_of = dict(zip(areas["area_code"], areas["area_type"]))
        self.life = {c: (as_date(f), as_date(t)) for c, f, t in zip(areas["area_code"], areas["valid_from"], areas["valid_to"])}
        self._members: dict[str, list[tuple[str, dt.date | None, dt.date | None]]] = defaultdict(list)
        for area, lad, f, t in zip(footprints["area_code"], footprints["lad_code"], footprints["valid_from"], footprints["valid_to"]):
            self._members[area].append((lad, as_date(f), as_date(t)))
        self._footprint_index = FootprintIndex(footprints)
        self._pop: dict[str, dict[int, float]] = defaultdict(dict)
        for code, year, pop in zip(population["area_code"], population["year"], population["population"]):
            if pop is not None and not pd.isna(pop):
                self._pop[code][int(year)] = float(pop)
        self._targets_cache: dict[tuple[int, tuple], dict[tuple[str, int], tuple[frozenset, str]]] = {}
        self._successor_cache: dict[tuple[str, int, int], tuple[float, int] | None] = {}
        self._population_cache: dict[tuple[str, int, int | None], tuple[float, int] | None] = {}
        self._lads_cache: dict[tuple[str, int], frozenset[str]] = {}
        self._successors, self._predecessors = succession(membership)

    def universe(self, vintage: int) -> set[str]:
        day = dt.date(vintage, 4, 1)
        return {c for c, t in self.type_of.items() if t == "lad" and _valid_on(self.life[c], day)}

    def lads_of(self, code: str, vintage: int) -> frozenset[str]:
        key = (code, vintage)
        found = self._lads_cache.get(key)
        if found is None:
            if LAD.match(code):
                found = frozenset([code])
            else:
                day = dt.date(vintage, 4, 1)
                members = set()
                for lad, f, t in self._members.get(code, ()):
                    if _valid_on((f, t), day):
                        members.add(lad)
                    elif f and f > day and f == self.life.get(lad, (None, None))[0]:
                        # a member created after the day (a merged district) stands for the LADs it replaced,
                        # when the footprint only records the merged one (Suffolk's 2019 districts)
                        members |= self._valid_predecessors(lad, day)
                found = frozenset(members)
            self._lads_cache[key] = found
        return found

    def _valid_predecessors(self, code: str, day: dt.date) -> set[str]:
        """The LADs valid on ``day`` that ``code`` replaced, directly or through intermediate codes."""
        out, frontier, seen = set(), list(self._predecessors.get(code, [])), set()
        while frontier:
            c = frontier.pop()
            if c in seen:
                continue
            seen.add(c)
            if self.type_of.get(c) == "lad" and _valid_on(self.life.get(c, (None, None)), day):
                out.add(c)
            else:
                frontier += self._predecessors.get(c, [])
        return out

    def lads_on(self, code: str, day: dt.date) -> list[str]:
        """The LADs that made up ``code`` on ``day`` (`sources.geography.FootprintIndex`)."""
        return self._footprint_index.lads_in(code, day)

    def targets(self, vintage: int, years: list[int]) -> dict[tuple[str, int], tuple[frozenset, str]]:
        """(area, year) -> (its LADs on the vintage's LAD set, how the membership was dated), for every aggregate area.

        The same rule as `warehouse.transforms.aggregation.member_lads`: members on 30 June of the year, or, for an
        area that did not exist yet, its first footprint; mapped onto the vintage's LADs through
        predecessor/successor links.
        """
        key = (vintage, tuple(sorted(years)))
        if key not in self._targets_cache:
            universe = self.universe(vintage)
            out = {}
            for area in (c for c, t in self.type_of.items() if t in AGGREGATE_TYPES):
                first = self._footprint_index.first_day(area)
                for year in sorted(set(years)):
                    lads, method = self.lads_on(area, dt.date(year, 6, 30)), "sum_of_lads"
                    if not lads:
                        if first is None or first.year <= year:
                            continue
                        lads, method = self.lads_on(area, first), "sum_of_lads_later_footprint"
                    translated = translate_codes(lads, universe, self._successors, self._predecessors)
                    if translated:
                        out[(area, year)] = (frozenset(translated), method)
            self._targets_cache[key] = out
        return self._targets_cache[key]

    def population(self, code: str, year: int, vintage: int | None = None) -> tuple[float, int] | None:
        """Persons all-ages population of ``code`` in ``year``, or in the nearest year published for it.

        An area with no estimate of its own (abolished before the bundled releases, e.g. Buckinghamshire
        county, 2020) takes that of its successors when they cover exactly its LADs on ``vintage``
        (Buckinghamshire UA); a successor that also took in other areas (BCP for Dorset's Christchurch) does not.
        """
        key = (code, year, vintage)
        if key not in self._population_cache:
            by_year = self._pop.get(code)
            if not by_year:
                found = self._successor_population(code, year, vintage) if vintage else None
            else:
                best = min(by_year, key=lambda y: (abs(y - year), -y))
                found = by_year[best], best
            self._population_cache[key] = found
        return self._population_cache[key]

    def _successor_population(self, code: str, year: int, vintage: int) -> tuple[float, int] | None:
        key = (code, year, vintage)
        if key not in self._successor_cache:
            self._successor_cache[key] = self._successor_population_uncached(code, year, vintage)
        return self._successor_cache[key]

    def _successor_population_uncached(self, code: str, year: int, vintage: int) -> tuple[float, int] | None:
        members = self.lads_of(code, vintage) or frozenset([code])
        successors: set[str] = set()
        for lad in members:
            frontier, found = [lad], False
            while frontier:
                c = frontier.pop()
                if c in self._pop:
                    successors.add(c)
                    found = True
                    continue
                frontier += self._successors.get(c, [])
            if not found:
                return None
        for s in successors:
            replaced = set(self._predecessors.get(s, []))
            if not all(r in members or r == code or (self.lads_of(r, vintage) and self.lads_of(r, vintage) <= members) for r in replaced):
                return None
        pops = [self.population(s, year) for s in successors]
        if any(p is None for p in pops):
            return None
        return sum(p[0] for p in pops), max(p[1] for p in pops)


def _cover(target: frozenset, units: dict[str, frozenset], inside: list[tuple[str, frozenset]] | None = None) -> list[str]:
    """Largest published areas lying wholly inside ``target`` that do not overlap (laminar: regions > counties > LADs).

    ``inside``: the units lying wholly inside ``target``, when already found (see `_Units.inside`)."""
    chosen, covered = [], set()
    if inside is None:
        inside = [(code, lads) for code, lads in units.items() if lads and lads <= target]  # few of many: sort only these
    for code, lads in sorted(inside, key=lambda kv: (-len(kv[1]), kv[0])):
        if not (lads & covered):
            chosen.append(code)
            covered |= lads
    return chosen


def _mid_year(start: dt.date, end: dt.date) -> int:
    return (start.year + end.year) // 2


COVERAGE_COLUMNS = ["indicator_id", "area_code", "sex", "age", "period_label", "geography_vintage", "has_figure", "method",
                    "member_count", "member_codes", "missing_codes", "reason", "source_id", "source_sha256", "source_locator"]


def build_aggregates(values: pd.DataFrame, cat: Catalogue, indicator_of: dict[str, Indicator], primary: dict, geo: _Geography,
                     with_coverage: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate rows for every combined authority, region and group the publisher gives no figure for.

    With ``with_coverage``, also one coverage row per (indicator, area, sex, age, period): whether a figure
    exists (published, or aggregated here, with the members used and the method) and, if not, why not
    (the member LADs with no value, the value type's rule, a membership that cannot be mapped).
    """
    rows, coverage = [], []
    published = values[values["method"] == "published"]
    # the published rows as plain lists, and each group's row positions: far cheaper to walk than a DataFrame per group
    col = {c: published[c].tolist() for c in ("area_code", "period_start", "period_end", "geography_vintage", "value", "count",
                                              "denominator", "source_id", "source_sha256", "source_locator")}
    years_by_vintage: dict[int, set[int]] = defaultdict(set)
    for (indicator_id, period), where in published.groupby(["indicator_id", "period_label"], sort=False).indices.items():
        if primary.get((indicator_id, period)):
            first = where[0]
            years_by_vintage[int(primary[(indicator_id, period)])].add(_mid_year(col["period_start"][first], col["period_end"][first]))
    targets_by_vintage = {v: geo.targets(v, sorted(years)) for v, years in years_by_vintage.items()}
    aggregate_areas = sorted(c for c, t in geo.type_of.items() if t in AGGREGATE_TYPES)
    for (indicator_id, sex, age, period), where in published.groupby(["indicator_id", "sex", "age", "period_label"], sort=False).indices.items():
        ind = indicator_of[indicator_id]
        vintage = primary.get((indicator_id, period))
        first = where[0]
        period_start, period_end = col["period_start"][first], col["period_end"][first]
        base = {"indicator_id": indicator_id, "sex": sex, "age": age, "period_label": period, "geography_vintage": vintage,
                "source_id": col["source_id"][first], "source_sha256": col["source_sha256"][first]}
        present = {col["area_code"][i]: col["source_locator"][i] for i in where}
        if with_coverage:
            for area in aggregate_areas:
                if area in present:
                    coverage.append({**base, "area_code": area, "has_figure": True, "method": "published", "member_count": None,
                                     "member_codes": None, "missing_codes": None, "reason": None,
                                     "source_locator": f"published by the source at {present[area]}"})
        if not vintage:
            if with_coverage:
                coverage += [{**base, "area_code": a, "has_figure": False, "method": None, "member_count": None, "member_codes": None,
                              "missing_codes": None, "reason": "the period's area codes match no boundary vintage, so no membership can be applied",
                              "source_locator": "no boundary vintage"} for a in aggregate_areas if a not in present]
            continue
        v = int(vintage)
        year = _mid_year(period_start, period_end)
        unit_rows = {
            col["area_code"][i]: (_num(col["value"][i]), _num(col["count"][i]), _num(col["denominator"][i]))
            for i in where if col["geography_vintage"][i] == vintage and geo.type_of.get(col["area_code"][i]) in UNIT_TYPES
        }
        targets = {area: spec for (area, y), spec in targets_by_vintage[v].items() if y == year}
        prepared = _Units(unit_rows, {c: geo.lads_of(c, v) for c in unit_rows})
        for area in aggregate_areas:
            if area in present:
                continue
            spec = targets.get(area)
            if ind.aggregation == "none":
                reason = f"value type '{ind.value_type}' is never aggregated (aggregation rule in {CATALOGUE_NAME})"
                row, missing = None, []
            elif spec is None or not spec[0]:
                reason = f"the area had no members in {year} that map onto the file's {v} LAD boundaries"
                row, missing = None, []
            else:
                row, reason, missing = _try_aggregate(area, spec[0], spec[1], unit_rows, ind, geo, v, year, prepared)
            if row is not None:
                rows.append({
                    **row, **base, "area_code": area,
                    "period_start": period_start, "period_end": period_end,
                    "value_note": None, "compared_to_england": None,
                })
            if with_coverage:
                coverage.append({**base, "area_code": area, "has_figure": row is not None,
                                 "method": row["method"] if row else None,
                                 "member_count": row["member_count"] if row else None,
                                 "member_codes": row["member_codes"] if row else None,
                                 "missing_codes": " ".join(sorted(missing)) or None, "reason": reason,
                                 "source_locator": row["source_locator"] if row else f"no figure: {reason}"})
    columns = ["indicator_id", "area_code", "sex", "age", "period_label", "period_start", "period_end", "value", "lower_ci_95",
               "upper_ci_95", "count", "denominator", "value_note", "compared_to_england", "geography_vintage", "method",
               "member_count", "member_codes", "weight_years", "source_id", "source_sha256", "source_locator"]
    aggregates = pd.DataFrame(rows, columns=columns)
    if with_coverage:
        return aggregates, pd.DataFrame(coverage, columns=COVERAGE_COLUMNS)
    return aggregates


CATALOGUE_NAME = "sources/fingertips_indicators.toml"


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _aggregate(area: str, target: frozenset, dating: str, units: dict[str, tuple], ind: Indicator, geo: _Geography,
               vintage: int, year: int) -> dict | None:
    """One aggregate row's figures from the published ``units`` (code -> (value, count, denominator)), or None."""
    return _try_aggregate(area, target, dating, units, ind, geo, vintage, year)[0]


class _Units:
    """One group's published units (code -> (value, count, denominator)) and their LADs, with what every aggregate
    area of the group asks of them (the usable units, the LADs of the suppressed ones) worked out once per group."""

    def __init__(self, units: dict[str, tuple], unit_lads: dict[str, frozenset]):
        self.units = units
        self.unit_lads = unit_lads
        self._usable: dict[int, tuple[dict[str, tuple], dict[str, frozenset]]] = {}
        self._suppressed: dict[int, frozenset[str]] = {}
        self._by_first_lad: dict[int, dict[str, list[tuple[str, frozenset]]]] = {}

    def usable(self, column: int) -> tuple[dict[str, tuple], dict[str, frozenset]]:
        """(units with a value (column 0) or with count and denominator (column 1), their LADs)."""
        if column not in self._usable:
            needed = (0,) if column == 0 else (1, 2)
            usable = {c: u for c, u in self.units.items() if all(u[i] is not None for i in needed)}
            self._usable[column] = usable, {c: self.unit_lads[c] for c in usable}
        return self._usable[column]

    def inside(self, target: frozenset, column: int) -> list[tuple[str, frozenset]]:
        """The usable units (see ``usable``) with LADs, all of them in ``target``: found through each unit's first
        LAD (a unit inside the target has its first LAD there) instead of testing every unit of the group."""
        if column not in self._by_first_lad:
            index: dict[str, list[tuple[str, frozenset]]] = defaultdict(list)
            for code, lads in self.usable(column)[1].items():
                if lads:
                    index[min(lads)].append((code, lads))
            self._by_first_lad[column] = index
        index = self._by_first_lad[column]
        return [(code, lads) for lad in target for code, lads in index.get(lad, ()) if lads <= target]

    def suppressed_lads(self, column: int) -> frozenset[str]:
        """The LADs of every unit with no figure in ``column``."""
        if column not in self._suppressed:
            self._suppressed[column] = frozenset().union(*(self.unit_lads[c] for c, u in self.units.items() if u[column] is None))
        return self._suppressed[column]


def _lacking(target: frozenset, covered: frozenset, prepared: _Units, column: int) -> tuple[list[str], str]:
    """The member LADs not covered, and a sentence saying which are absent from the file and which are suppressed there."""
    missing = sorted(target - covered)
    held = prepared.suppressed_lads(column)
    suppressed = {m for m in missing if m in held}
    absent = [m for m in missing if m not in suppressed]
    parts = []
    if absent:
        parts.append(f"{len(absent)} member LAD(s) not covered by any area in the file: {' '.join(absent[:12])}{' …' if len(absent) > 12 else ''}")
    if suppressed:
        what = "value" if column == 0 else "count or denominator"
        parts.append(f"{len(suppressed)} member LAD(s) whose area has no {what} in the file: {' '.join(sorted(suppressed)[:12])}{' …' if len(suppressed) > 12 else ''}")
    return missing, f"incomplete coverage of the {len(target)} member LADs: " + "; ".join(parts)


def _try_aggregate(area: str, target: frozenset, dating: str, units: dict[str, tuple], ind: Indicator, geo: _Geography,
                   vintage: int, year: int, prepared: _Units | None = None) -> tuple[dict | None, str | None, list[str]]:
    """(row or None, why not, the member LADs left uncovered) for one aggregate area (``prepared``: the group's units, if
    already prepared for its other areas)."""
    prepared = prepared or _Units(units, {c: geo.lads_of(c, vintage) for c in units})
    membership_note = "membership at mid-period" if dating == "sum_of_lads" else "first footprint (the area did not exist yet)"
    if ind.aggregation == "counts_and_denominators":
        usable, lads = prepared.usable(1)
        chosen = _cover(target, lads, prepared.inside(target, 1))
        covered = frozenset().union(*(lads[c] for c in chosen)) if chosen else frozenset()
        if covered != target:
            missing, reason = _lacking(target, covered, prepared, 1)
            return None, reason, missing
        count = sum(usable[c][1] for c in chosen)
        denominator = sum(usable[c][2] for c in chosen)
        if denominator <= 0:
            return None, "the members' denominators sum to zero", []
        lower, upper = byar_ci(count, denominator, ind.multiplier) if ind.ci_method == "byar" else (None, None)
        return {
            "value": count / denominator * ind.multiplier, "lower_ci_95": lower, "upper_ci_95": upper,
            "count": count, "denominator": denominator, "method": "recomputed_from_counts",
            "member_count": len(chosen), "member_codes": " ".join(sorted(chosen)), "weight_years": None,
            "source_locator": f"recomputed_from_counts: sum of counts / sum of denominators x {ind.multiplier:g} over {len(chosen)} published areas "
                              f"({vintage} boundaries, {membership_note}); 95% CI by {ind.ci_method or 'none'}",
        }, None, []
    usable, lads = prepared.usable(0)
    chosen = _cover(target, lads, prepared.inside(target, 0))
    covered = frozenset().union(*(lads[c] for c in chosen)) if chosen else frozenset()
    missing = target - covered
    if not chosen:
        lacking, reason = _lacking(target, covered, prepared, 0)
        return None, reason, lacking
    weights, years = [], set()
    for code in chosen:
        pop = geo.population(code, year, vintage)
        if pop is None:
            return None, f"no mid-year population to weight member {code} by", []
        weights.append(pop[0])
        years.add(pop[1])
    share = 0.0
    if missing:
        # Only members whose value the publisher suppressed, and only if they are a sliver of the area.
        lacking, reason = _lacking(target, covered, prepared, 0)
        held = prepared.suppressed_lads(0)
        if not all(m in held for m in missing):
            return None, reason, lacking
        missing_pops = [geo.population(m, year, vintage) for m in missing]
        if any(p is None for p in missing_pops):
            return None, reason + " (and no population to measure their share)", lacking
        share = sum(p[0] for p in missing_pops) / (sum(weights) + sum(p[0] for p in missing_pops))
        if share > MAX_SUPPRESSED_SHARE:
            return None, reason + f" ({share:.2%} of the population, above the {MAX_SUPPRESSED_SHARE:.0%} that may be left out)", lacking
    values = [usable[c][0] for c in chosen]
    value = sum(w * x for w, x in zip(weights, values)) / sum(weights)
    span = f"{min(years)}" if len(years) == 1 else f"{min(years)}-{max(years)}"
    note = f"; left out (value suppressed, {share:.2%} of the population): {' '.join(sorted(missing))}" if missing else ""
    return {
        "value": value, "lower_ci_95": None, "upper_ci_95": None, "count": None, "denominator": None,
        "method": "population_weighted_estimate", "member_count": len(chosen), "member_codes": " ".join(sorted(chosen)),
        "weight_years": span,
        "source_locator": f"population_weighted_estimate (an estimate, not a published figure): values of {len(chosen)} published areas "
                          f"({vintage} boundaries, {membership_note}) weighted by persons all-ages mid-year population ({span}){note}",
    }, None, sorted(missing)


# --- definitions -------------------------------------------------------------------------------------------------


def build_definitions(values: pd.DataFrame, indicator_of: dict[str, Indicator], credits: dict[str, tuple[str, str]],
                      metadata: pd.DataFrame | None) -> pd.DataFrame:
    """One row per indicator with values: the catalogue's words, or the publisher's metadata where landed (live)."""
    meta = metadata.set_index("indicator_id") if metadata is not None and not metadata.empty else None
    rows = []
    line = values["source_locator"].str.extract(r"(\d+)")[0].astype(float)  # the row's line number, for every row at once
    for indicator_id, group in values.assign(_line=line).groupby("indicator_id", sort=True):
        ind = indicator_of[indicator_id]
        first = group.sort_values("_line").iloc[0]  # the first published row (the same sort as by the locator's number)
        publisher, licence = credits.get(first["source_id"], ("Office for Health Improvement and Disparities (Fingertips)", "OGL-UK-3.0"))
        row = {
            "indicator_id": indicator_id, "name": ind.name, "short_name": ind.short_name, "definition": ind.definition,
            "unit": ind.unit, "polarity": ind.polarity, "domain": "health", "value_type": ind.value_type,
            "aggregation": ind.aggregation, "publisher": publisher,
            "url": f"https://fingertips.phe.org.uk/api/indicator_metadata/csv/by_indicator_id?indicator_ids={indicator_id}",
            "licence": licence,
            "citation": f"Office for Health Improvement and Disparities. Public health profiles (Fingertips), indicator {indicator_id}: {ind.name}. "
                        "https://fingertips.phe.org.uk. Contains public sector information licensed under the Open Government Licence v3.0.",
            "age_band": ind.age, "year_type": ind.year_type, "multiplier": ind.multiplier, "ci_method": ind.ci_method,
            "source_id": first["source_id"], "source_sha256": first["source_sha256"],
            "source_locator": f"catalogue sources/fingertips_indicators.toml, indicator {ind.id}; first published row at {first['source_locator']}",
        }
        if meta is not None and indicator_id in meta.index:
            m = meta.loc[indicator_id]
            if isinstance(m, pd.DataFrame):
                m = m.iloc[0]
            row.update({
                "name": m["name"] or row["name"], "definition": m["definition"] or row["definition"],
                "polarity": m["polarity"] if m["polarity_text"] else row["polarity"],
                "value_type": m["value_type"] or row["value_type"],
                "source_id": m["source_id"], "source_sha256": m["source_sha256"],
                "source_locator": f"indicator metadata {m['source_locator']} (unit, aggregation and short name from the catalogue)",
            })
        rows.append(row)
    return pd.DataFrame(rows)


# --- the whole build ---------------------------------------------------------------------------------------------


def _indicators(data: pd.DataFrame, cat: Catalogue) -> dict[str, Indicator]:
    return {indicator_id: cat.identify(indicator_id, name)
            for indicator_id, name in data[["indicator_id", "indicator_name"]].drop_duplicates("indicator_id").itertuples(index=False)}


def _split(data: pd.DataFrame, areas: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(headline values, category rows, primary vintage per indicator and period) of parsed rows."""
    vintage, primary = assign_vintages(data, areas)
    data = data.assign(geography_vintage=vintage, method="published")
    is_category = data["category_type"].notna() | data["category"].notna()
    values = data[~is_category].reset_index(drop=True)
    inequalities = data[is_category].reset_index(drop=True)
    inequalities = inequalities.assign(category_type=inequalities["category_type"].fillna(""), category=inequalities["category"].fillna(""))
    return values, inequalities, primary


def _dated(frame: pd.DataFrame, published: dict[str, str | None]) -> pd.DataFrame:
    return frame.assign(published_at=frame["source_id"].map(lambda s: as_date(published.get(s)) if published.get(s) else None))


def build_vintage(parsed: pd.DataFrame, cat: Catalogue, geo: _Geography, areas: pd.DataFrame, published_at: str | None,
                  title: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One earlier vintage (an archived file): its published headline rows plus the aggregates they allow, and their coverage."""
    indicator_of = _indicators(parsed, cat)
    values, _, primary = _split(parsed, areas)
    aggregates, coverage = build_aggregates(values, cat, indicator_of, primary, geo, with_coverage=True)
    label = f"{', '.join(f'Fingertips {i}' for i in sorted(indicator_of))} as published {published_at or '(date unknown)'}: {title}"
    frame = pd.concat([values.assign(member_count=None, member_codes=None), aggregates], ignore_index=True)
    return frame.assign(vintage_label=label), coverage


@dataclass(frozen=True)
class _Done:
    value: object

    def result(self):
        return self.value


def _here(fn: Callable, *args) -> _Done:
    """``fn(*args)`` run at once (the default ``beside`` of :func:`build_health`)."""
    return _Done(fn(*args))


def build_health(parsed: list[pd.DataFrame], cat: Catalogue, areas: pd.DataFrame, footprints: pd.DataFrame,
                 membership: pd.DataFrame, population: pd.DataFrame, credits: dict[str, tuple[str, str]],
                 metadata: pd.DataFrame | None = None, vintages: list[tuple[pd.DataFrame, str | None, str]] = (),
                 published: dict[str, str | None] | None = None, beside: Callable | None = None) -> dict[str, pd.DataFrame]:
    """The core health tables from parsed Fingertips frames and the geography and population tables.

    ``parsed`` are the current files; ``vintages`` the archived earlier vintages as (parsed frame,
    publication date, title), each built on its own (its own boundary vintage, its own aggregates).
    ``published`` maps source ids to their publication dates (catalogue ``published``) for coverage rows.
    ``beside(fn, *args)`` says where work independent of the current files runs (the earlier vintages): it returns
    an object whose ``result()`` is ``fn(*args)``, e.g. `pipelines.offload.beside`, which runs it in a helper
    process while this one builds the current aggregates; by default it runs here.
    """
    published = dict(published or {})
    frames = [p for p in parsed if p is not None and not p.empty]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=parsed[0].columns if parsed else [])
    indicator_of = _indicators(data, cat)
    values, inequalities, primary = _split(data, areas)

    persons = population[(population["sex"] == "persons") & (population["age"] == "all")]
    geo = _Geography(areas, footprints, membership, persons)
    vintages = [(frame, published_at, title) for frame, published_at, title in vintages if frame is not None and not frame.empty]
    building = [(beside or _here)(build_vintage, frame, cat, geo, areas, published_at, title) for frame, published_at, title in vintages]
    aggregates, coverage = build_aggregates(values, cat, indicator_of, primary, geo, with_coverage=True)
    definitions = build_definitions(values, indicator_of, credits, metadata)
    archived, archived_coverage = [], []
    for (frame, published_at, _), built in zip(vintages, building):
        rows, cov = built.result()
        published.update({s: published_at for s in frame["source_id"].unique()})
        archived.append(rows)
        archived_coverage.append(cov)
    vintage_rows = pd.concat(archived, ignore_index=True) if archived else pd.DataFrame(columns=[*aggregates.columns, "vintage_label"])
    return {
        "core_health__indicator_values": values,
        "core_health__indicator_aggregates": aggregates,
        "core_health__indicator_definitions": definitions,
        "core_health__inequalities": inequalities,
        "core_health__indicator_vintages": _dated(vintage_rows, published),
        "core_indicators__aggregate_coverage": _dated(pd.concat([coverage, *archived_coverage], ignore_index=True), published),
    }


# --- what the asset checks look for ------------------------------------------------------------------------------


CI_LIMITS = (("lower_ci_95", "upper_ci_95"), ("lower_ci_99_8", "upper_ci_99_8"))  # (lower, upper) of each interval


def inverted_cis(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose confidence limits do not bracket the value (lower > value, value > upper, or lower > upper), for
    each interval of :data:`CI_LIMITS` the frame has."""
    bad = pd.Series(False, index=frame.index)
    for lo, hi in CI_LIMITS:
        if lo not in frame.columns:
            continue
        low, high, value = (pd.to_numeric(frame[c], errors="coerce") for c in (lo, hi, "value"))
        bad |= (low > value).fillna(False) | (value > high).fillna(False) | (low > high).fillna(False)
    return frame[bad]


def invalid_codes(frame: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Rows whose area code is not a GSS code the geography knows, or (LADs, counties) was not valid on 1 April of the row's vintage.

    Decided once per distinct (code, vintage) pair: a reason depends on nothing else."""
    life = {c: (as_date(f), as_date(t)) for c, f, t in zip(areas["area_code"], areas["valid_from"], areas["valid_to"])}
    pairs = list(zip(frame["area_code"].tolist(), frame["geography_vintage"].tolist()))
    reason = {pair: _invalid_code_reason(*pair, life) for pair in set(pairs)}
    out = frame.assign(reason=[reason[pair] for pair in pairs])
    return out[out["reason"].notna()]


_GSS = re.compile(r"^E\d{8}$")


def _invalid_code_reason(code, vintage, life: dict) -> str | None:
    if code in ("north", "greater_south_east"):
        return None
    if not _GSS.match(str(code)):
        return "not an English GSS code"
    if code not in life:
        return "unknown to the geography tables"
    if LAD_OR_COUNTY.match(code) and (not vintage or not str(vintage).isdigit()):
        return "no boundary vintage matches the code"
    if LAD_OR_COUNTY.match(code) and not _valid_on(life[code], dt.date(int(vintage), 4, 1)):
        return f"not a valid code on 1 April {vintage}"
    return None


def current_codes(codes: set[str], membership: pd.DataFrame) -> set[str]:
    """``codes`` mapped forward through abolitions to the codes that replaced them (unchanged codes stay)."""
    return _forward(set(codes), succession(membership)[0])


def shrinking_periods(frame: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """Periods that cover fewer areas than the period before, per indicator, sex and age.

    Areas are counted after mapping abolished codes to their successors, so a reorganisation
    (313 districts becoming 296) is not a loss, while a district missing from a later period is.
    """
    successors_of = succession(membership)[0]
    keys = ["indicator_id", "sex", "age", "period_label"]
    codes: dict[tuple, dict[str, set[str]]] = {}  # (indicator, sex, age) in order of first appearance -> period -> codes
    for indicator_id, sex, age, period, code in zip(*(frame[c].tolist() for c in [*keys, "area_code"])):
        codes.setdefault((indicator_id, sex, age), {}).setdefault(period, set()).add(code)
    spans = frame.groupby(keys).agg(period_end=("period_end", "max"), period_start=("period_start", "min"))
    rows = []
    for (indicator_id, sex, age), by_period in codes.items():
        periods = spans.loc[(indicator_id, sex, age)].sort_values(["period_end", "period_start"])  # labels sorted, then by time
        previous = None
        for period in periods.index:
            covered = _forward(by_period[period], successors_of)
            if previous is not None and len(covered) < len(previous[1]):
                rows.append({"indicator_id": indicator_id, "sex": sex, "age": age, "period_label": period, "areas": len(covered),
                             "previous_period": previous[0], "previous_areas": len(previous[1]),
                             "missing": " ".join(sorted(previous[1] - covered)[:10])})
            previous = (period, covered)
    return pd.DataFrame(rows, columns=["indicator_id", "sex", "age", "period_label", "areas", "previous_period", "previous_areas", "missing"])


def _forward(codes: set[str], successors_of: dict[str, list[str]]) -> set[str]:
    out = set()
    for code in codes:
        frontier, seen = [code], set()
        while frontier:
            c = frontier.pop()
            if c in seen:
                continue
            seen.add(c)
            if successors_of.get(c):
                frontier += successors_of[c]
            else:
                out.add(c)
    return out
