"""Finding areas and indicators by what a person types: codes, exact names, words of a name, or a near miss.

``resolve_area`` is the one rule every analyst command uses (``profile``, ``compare``, the profile pages):

1. an area code (``E06000010``, ``north``), case-insensitive;
2. an exact name, ignoring case, punctuation and the ONS suffixes ", City of" / ", County of";
3. the typed words as whole words of a name ("Hull" is a word of "Kingston upon Hull, City of", not of
   "Solihull"): one match wins; several matches where exactly one is a local authority district pick the
   district (a bare place name means the council area; the bodies named after it are listed as alternatives);
4. otherwise a fuzzy match (rapidfuzz's weighted ratio) wins only when it is clearly ahead of the next one.

Anything else raises :class:`AreaNotFound` or :class:`AmbiguousArea`, whose message lists the candidates
with their codes, so the user can type a code instead. Today's areas are preferred over abolished ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING

import duckdb
from rapidfuzz import fuzz, process

from warehouse.engine.queries import query, sql_text

if TYPE_CHECKING:
    import pandas as pd

FUZZY_MIN_SCORE = 85  # weighted ratio a fuzzy match must reach
FUZZY_LEAD = 5  # and by how much it must beat the runner-up
AREA_TYPES = ("country", "group", "region", "combined_authority", "county", "lad")


class AreaLookupError(LookupError):
    """A name or code that does not pick out exactly one area; the message says what to type instead."""


class AreaNotFound(AreaLookupError):
    pass


class AmbiguousArea(AreaLookupError):
    pass


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    type: str
    is_current: bool = True
    region_code: str | None = None
    region_name: str | None = None
    also: tuple[str, ...] = field(default=())  # other areas the typed name also matched (for a note)

    def label(self) -> str:
        return f"{self.name} ({self.code}, {self.type.replace('_', ' ')})"


def _normalise(name: str) -> str:
    name = re.sub(r",\s*(city|county) of$", "", name.strip(), flags=re.I)
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def all_areas(con: duckdb.DuckDBPyConnection) -> list[SimpleNamespace]:
    """Every area (current first) with its region, as plain records; see ``analyst_areas.sql``."""
    cursor = con.execute(sql_text("analyst_areas"))
    columns = [d[0] for d in cursor.description]
    return [SimpleNamespace(**dict(zip(columns, row))) for row in cursor.fetchall()]


def _area(row, also=()) -> Area:
    return Area(row.area_code, row.area_name, row.area_type, bool(row.is_current), row.region_code, row.region_name, tuple(also))


def _candidates_text(rows: list, limit: int = 8) -> str:
    shown = [f"{r.area_name} ({r.area_code}, {r.area_type.replace('_', ' ')}{'' if r.is_current else ', abolished'})"
             for r in rows[:limit]]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(shown) + more


def resolve_area(con: duckdb.DuckDBPyConnection, text: str, areas: list | None = None) -> Area:
    """The one area ``text`` names (code, name, words of a name, or a clear fuzzy match); see the module doc."""
    areas = all_areas(con) if areas is None else areas
    typed = text.strip()
    if not typed:
        raise AreaNotFound("No area given: type a name such as 'Kingston upon Hull' or a code such as E06000010.")
    by_code = [a for a in areas if a.area_code.lower() == typed.lower()]
    if by_code:
        return _area(by_code[0])
    wanted = _normalise(typed)
    normalised = [_normalise(a.area_name) for a in areas]
    exact = [a for a, n in zip(areas, normalised) if n == wanted]
    if exact:
        return _area(next((a for a in exact if a.is_current), exact[0]))
    pattern = re.compile(rf"\b{re.escape(wanted)}\b")
    words = [a for a, n in zip(areas, normalised) if pattern.search(n)]
    words = [a for a in words if a.is_current] or words
    if len(words) == 1:
        return _area(words[0])
    if len(words) > 1:
        lads = [a for a in words if a.area_type == "lad"]
        if len(lads) == 1:
            others = [a for a in words if a.area_type != "lad"]
            return _area(lads[0], also=tuple(f"{r.area_name} ({r.area_code})" for r in others))
        raise AmbiguousArea(f"{typed!r} matches {len(words)} areas: {_candidates_text(words)}. Type the code or a fuller name.")
    best = process.extract(wanted, dict(enumerate(normalised)), scorer=fuzz.WRatio, limit=6)
    if best and best[0][1] >= FUZZY_MIN_SCORE and (len(best) == 1 or best[0][1] - best[1][1] >= FUZZY_LEAD):
        return _area(areas[best[0][2]])
    near = [areas[b[2]] for b in best if b[1] >= 60]
    if not near:
        raise AreaNotFound(f"No area matches {typed!r}. List areas with `observatory areas SEARCH`.")
    raise AmbiguousArea(f"{typed!r} is not an area name; did you mean: {_candidates_text(near)}? Type the code or the full name.")


def search_areas(con: duckdb.DuckDBPyConnection, search: str | None = None, area_type: str | None = None,
                 include_abolished: bool = False) -> pd.DataFrame:
    """Areas whose name or code contains ``search`` (words, any order), else the closest fuzzy matches."""
    import pandas as pd

    areas = pd.DataFrame([vars(a) for a in all_areas(con)])
    if not include_abolished:
        areas = areas[areas["is_current"]]
    if area_type:
        areas = areas[areas["area_type"] == area_type]
    if not search:
        return areas.reset_index(drop=True)
    words = _normalise(search).split()
    haystack = areas["area_name"].map(_normalise) + " " + areas["area_code"].str.lower()
    hits = areas[haystack.map(lambda h: all(re.search(rf"\b{re.escape(w)}", h) for w in words))]
    if hits.empty:
        scored = process.extract(_normalise(search), dict(zip(areas.index, areas["area_name"].map(_normalise))),
                                 scorer=fuzz.WRatio, limit=10)
        hits = areas.loc[[s[2] for s in scored if s[1] >= 60]]
    return hits.reset_index(drop=True)


def search_indicators(con: duckdb.DuckDBPyConnection, search: str | None = None) -> pd.DataFrame:
    """Indicators whose id, name, domain or unit contains every typed word (case-insensitive)."""
    frame = query(con, "analyst_indicators")
    if not search:
        return frame
    haystack = (frame["indicator_id"] + " " + frame["name"] + " " + frame["domain"].fillna("") + " " + frame["unit"].fillna("")).str.lower()
    words = search.lower().split()
    return frame[haystack.map(lambda h: all(w in h for w in words))].reset_index(drop=True)
