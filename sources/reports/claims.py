"""Numeric claims: figures in sentences and bullet points, parsed into value, unit and scale.

:func:`extract_claims` takes a document's text lines (page, line, text) and returns one :class:`Claim`
per figure: money (``£``/``$``/``€`` with ``million``/``billion``/``m``/``bn``/``k``), amounts per head
(``£11.34 per person``), percentages, counts (``50,000 jobs``), years, and ratios (``two and a half
times more``). Each carries its sentence and the sentences around it, the places the sentence names
(matched by a :class:`PlaceMatcher` built from ``core_geo__areas`` names and common aliases), the
period if stated, and a measure hint (``research funding per head``, ``healthy life expectancy``) for a
later reconciliation against warehouse figures.

Charts flattened into text (a label line, then a number line, as in the Yorkshire and Humber seed's
healthy life expectancy map) are read too: each number becomes a ``figure_value`` claim for its label's
place, with the measure and period from the figure's caption and the series (men/women) from the
chart's legend order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_CURRENCY = {"£": "GBP", "$": "USD", "€": "EUR"}
_SCALE_WORDS = {
    "thousand": 1e3, "k": 1e3,
    "million": 1e6, "m": 1e6, "mn": 1e6, "millions": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "billions": 1e9,
    "trillion": 1e12, "tn": 1e12,
}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MONEY = re.compile(
    rf"(?P<cur>[£$€])\s?(?P<num>{_NUM})(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|m|k|b)\b)?",
    re.IGNORECASE,
)
_PER_HEAD = re.compile(r"^\s*(?:total\s*)?(?:/\s*)?(?:\w+\s){0,2}?(?:per (?:person|head|capita|resident|inhabitant|patient)|a head|each person)\b", re.IGNORECASE)
_PER_HEAD_AFTER = re.compile(r"\b(?:per (?:person|head|capita|resident|inhabitant)|a head)\b", re.IGNORECASE)
_PERCENT = re.compile(rf"(?P<num>{_NUM})\s?(?:%|per ?cent\b|percent\b|percentage points?\b)", re.IGNORECASE)
_WORD_NUMBERS = {
    "twice": 2.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0, "seven": 7.0, "eight": 8.0,
    "nine": 9.0, "ten": 10.0, "one and a half": 1.5, "two and a half": 2.5, "three and a half": 3.5,
}
_RATIO = re.compile(
    r"(?P<n>one and a half|two and a half|three and a half|twice|two|three|four|five|six|seven|eight|nine|ten|\d+(?:\.\d+)?)"
    r"\s+times\b(?:\s+(?:more|less|higher|lower|greater|as (?:much|many|high|likely)))?",
    re.IGNORECASE,
)
_TWICE = re.compile(r"\btwice (?:as|the)\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d£$€.,])(?P<year>(?:19|20)\d{2})(?![\d%])(?!\s?(?:million|billion|bn|m\b))")
_COUNT = re.compile(
    rf"(?<![\w£$€.,/\-–])(?P<num>{_NUM})(?:\s?(?P<scale>thousand|million|billion|bn|m|k)\b)?(?P<noun>\s+[A-Za-z][\w\-]*)?",
    re.IGNORECASE,
)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_DATE_OR_TIME = re.compile(rf"\b\d{{1,2}}:\d{{2}}(?:\s?[AaPp][Mm])?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b|\b(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b")
_PERIOD_RANGE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s?(?:-|–|—|/|to)\s?((?:19|20)?\d{2})(?!\d)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“‘(]?[A-Z£$€0-9•\-])")
_BULLET = re.compile(r"^\s*(?:[-•*▪●◦–]|\d{1,2}[.)])\s+")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|Prof|Dr|Mr|Mrs|Ms|St|No|approx|c|cf|Fig)\.)$", re.IGNORECASE)

_MEASURES: list[tuple[tuple[str, ...], str]] = [
    (("healthy life expectancy",), "healthy life expectancy"),
    (("life expectancy",), "life expectancy"),
    (("sickness absence", "hours lost"), "sickness absence"),
    (("mortality", "die early", "deaths"), "mortality"),
    (("gva",), "gross value added"),
    (("productivity",), "productivity"),
    (("unemployment",), "unemployment"),
    (("employment rate",), "employment rate"),
    (("research", "r&d", "innovation"), "research funding"),
    (("infrastructure funding", "infrastructure"), "infrastructure funding"),
    (("public health funding", "health spend", "spend", "spending", "spent"), "spending"),
    (("investment", "invested", "investing"), "investment"),
    (("funding", "funded", "awarded", "grant"), "funding"),
    (("jobs", "employ"), "jobs"),
]


@dataclass(frozen=True)
class Place:
    name: str
    code: str | None


class PlaceMatcher:
    """Finds place names in text: area names from ``core_geo__areas`` plus aliases ('the North', 'Tees Valley')."""

    # Aliases that are not area names; codes are core_geo__areas codes or analysis-group keys.
    BUILTIN = {
        "the North": "north", "North of England": "north", "Northern England": "north", "the north of England": "north",
        "Northern Powerhouse": "north",
        "Greater South East": "greater_south_east", "the Greater South East": "greater_south_east",
        "London": "E12000007", "Greater London": "E12000007",
        "Yorkshire and the Humber": "E12000003", "Yorkshire and Humber": "E12000003", "Yorkshire & Humber": "E12000003",
        "Yorkshire & the Humber": "E12000003",
        "North East": "E12000001", "North West": "E12000002", "East Midlands": "E12000004", "West Midlands": "E12000005",
        "East of England": "E12000006", "South East": "E12000008", "South West": "E12000009", "England": "E92000001",
    }
    # Short names for combined authorities, matched to the area whose name contains them.
    CA_SHORT = ("Greater Manchester", "Tees Valley", "Cambridgeshire and Peterborough", "West Yorkshire", "South Yorkshire",
                "North East", "Liverpool City Region", "West Midlands", "West of England", "York and North Yorkshire",
                "East Midlands", "North of Tyne", "Hull and East Yorkshire")

    def __init__(self, areas: Iterable[tuple[str, str, str]] = ()):
        """``areas``: (area_code, area_name, area_type) rows, e.g. from ``core_geo__areas``."""
        names: dict[str, str | None] = {}
        rank = {"group": 0, "country": 1, "region": 2, "combined_authority": 3, "county": 4, "lad": 5}
        best: dict[str, int] = {}
        rows = list(areas)
        for code, name, kind in rows:
            for alias in self._aliases(name, kind):
                r = rank.get(kind, 9)
                if alias not in names or r < best[alias]:
                    names[alias], best[alias] = code, r
        ca_names = {name: code for code, name, kind in rows if kind == "combined_authority"}
        for short in self.CA_SHORT:
            match = next((code for name, code in ca_names.items() if name.lower().startswith(short.lower())), None)
            if match and short not in ("North East", "West Midlands", "East Midlands"):
                names[short] = match
        for alias, code in self.BUILTIN.items():
            names[alias] = code
        for short in self.CA_SHORT:
            names.setdefault(short, None)
        self.codes = names
        ordered = sorted(names, key=len, reverse=True)
        multi = [n for n in ordered if " " in n]
        single = [n for n in ordered if " " not in n]
        parts = []
        if multi:
            parts.append("(?i:" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in multi) + ")")
        if single:
            parts.append("|".join(re.escape(n) for n in single))
        self._pattern = re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])") if parts else None
        self._lower = {n.lower(): n for n in names}

    @staticmethod
    def _aliases(name: str, kind: str) -> list[str]:
        out = [name]
        if ", City of" in name:
            out.append(name.replace(", City of", ""))
        if ", County of" in name:
            out.append(name.replace(", County of", ""))
        for suffix in (" Mayoral Combined Authority", " Combined Authority", " Mayoral Authority"):
            if name.endswith(suffix):
                out.append(name[: -len(suffix)])
        return [a for a in out if len(a) >= 3]

    def find(self, text: str) -> list[tuple[int, Place]]:
        """(position, place) for each place named in ``text``, longest names first, not overlapping."""
        if self._pattern is None:
            return []
        found = []
        for m in self._pattern.finditer(text):
            key = re.sub(r"\s+", " ", m.group(0))
            canonical = self._lower.get(key.lower(), key)
            found.append((m.start(), Place(canonical, self.codes.get(canonical))))
        return found


@dataclass
class Claim:
    page: int
    line: int
    col: int
    text: str
    context: str
    figure: str
    value: float
    unit: str
    scale: float
    kind: str
    places: list[Place] = field(default_factory=list)
    place: Place | None = None
    period: str | None = None
    measure_hint: str | None = None
    series: str | None = None


@dataclass
class _Sentence:
    text: str
    positions: list[tuple[int, int, int]]  # per char: (page, line, col)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _paragraphs(lines: Sequence[tuple[int, int, str]]) -> list[_Sentence]:
    """Lines joined into paragraphs (a blank line, a bullet or a heading-like short line starts a new one)."""
    paras: list[_Sentence] = []
    cur_text: list[str] = []
    cur_pos: list[tuple[int, int, int]] = []

    def flush():
        if cur_text:
            paras.append(_Sentence("".join(cur_text), list(cur_pos)))
            cur_text.clear()
            cur_pos.clear()

    for page, line_no, raw in lines:
        text = raw.rstrip()
        if not text.strip():
            flush()
            continue
        if _BULLET.match(text):
            flush()
        if cur_text:
            cur_text.append(" ")
            cur_pos.append(cur_pos[-1])
        start = len(text) - len(text.lstrip())
        for i, ch in enumerate(text[start:], start=start):
            cur_text.append(ch)
            cur_pos.append((page, line_no, i + 1))
    flush()
    return paras


def _sentences(paragraph: _Sentence) -> list[_Sentence]:
    out = []
    start = 0
    for m in _SENTENCE_END.finditer(paragraph.text):
        before = paragraph.text[start:m.start()]
        if _ABBREV.search(before):
            continue
        out.append(_Sentence(paragraph.text[start:m.start()].strip(), paragraph.positions[start:m.start()]))
        start = m.end()
    tail = paragraph.text[start:]
    if tail.strip():
        out.append(_Sentence(tail.strip(), paragraph.positions[start:start + len(tail)]))
    return [s for s in out if s.text]


def _period(text: str, exclude: Sequence[tuple[int, int]] = ()) -> str | None:
    m = _PERIOD_RANGE.search(text)
    if m and not any(a <= m.start() < b for a, b in exclude):
        return m.group(0).replace(" ", "")
    for y in _YEAR.finditer(text):
        if not any(a <= y.start() < b for a, b in exclude):
            return y.group("year")
    return None


def _measure(text: str, kind: str, per_head: bool) -> str | None:
    lower = re.sub(r"\b([A-Z]) (?=[a-z])", r"\1", text).lower()  # "H ealthy" (a drop capital) -> "healthy"
    for keys, hint in _MEASURES:
        if any(k in lower for k in keys):
            if per_head and hint in ("research funding", "funding", "spending", "investment", "infrastructure funding"):
                return f"{hint} per head"
            if per_head and hint == "gross value added":
                return "gross value added per head"
            return hint
    return None


_IN_PLACE = re.compile(r"^\s*(?:\w+\s){0,3}?(?:in|for|to|at|by)\s+(?:the\s+)?$", re.IGNORECASE)


def _nearest_place(places: list[tuple[int, Place]], pos: int, end: int = -1, text: str = "") -> Place | None:
    """The place the figure is "in"/"for" right after it, else the one named closest before it (else the first after)."""
    for p, pl in places:
        if end >= 0 and end <= p <= end + 30 and _IN_PLACE.match(text[end:p]):
            return pl
    before = [(p, pl) for p, pl in places if p <= pos]
    if before:
        return max(before, key=lambda t: t[0])[1]
    after = [(p, pl) for p, pl in places if p > pos]
    return min(after, key=lambda t: t[0])[1] if after else None


def _figures(text: str) -> list[dict]:
    """Every figure in a sentence: position, printed form, value, unit, scale, kind."""
    taken: list[tuple[int, int]] = []
    out = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    for m in _MONEY.finditer(text):
        scale_word = (m.group("scale") or "").lower()
        if scale_word == "b" and not re.match(r"\s?b\b", text[m.end("num"):]):
            scale_word = ""
        scale = _SCALE_WORDS.get(scale_word, 1.0)
        currency = _CURRENCY[m.group("cur")]
        after = text[m.end():m.end() + 40]
        per_head = bool(_PER_HEAD.match(after))
        figure = m.group(0).strip()
        out.append({"start": m.start(), "end": m.end(), "figure": figure, "value": _number(m.group("num")) * scale,
                    "unit": f"{currency} per head" if per_head else currency, "scale": scale,
                    "kind": "per_head" if per_head else "money"})
        taken.append((m.start(), m.end()))
    for m in _PERCENT.finditer(text):
        if free(m.start(), m.end()):
            out.append({"start": m.start(), "end": m.end(), "figure": m.group(0).strip(), "value": _number(m.group("num")),
                        "unit": "percent", "scale": 1.0, "kind": "percent"})
            taken.append((m.start(), m.end()))
    for m in _RATIO.finditer(text):
        if free(m.start(), m.end()):
            n = m.group("n").lower()
            value = _WORD_NUMBERS.get(n) or _number(n)
            out.append({"start": m.start(), "end": m.end(), "figure": m.group(0).strip(), "value": value,
                        "unit": "times", "scale": 1.0, "kind": "ratio"})
            taken.append((m.start(), m.end()))
    for m in _TWICE.finditer(text):
        if free(m.start(), m.end()):
            out.append({"start": m.start(), "end": m.end(), "figure": "twice", "value": 2.0, "unit": "times", "scale": 1.0, "kind": "ratio"})
            taken.append((m.start(), m.end()))
    for m in _PERIOD_RANGE.finditer(text):
        if free(m.start(), m.end()):
            taken.append((m.start(), m.end()))  # a period, not a count
    for m in _DATE_OR_TIME.finditer(text):
        if free(m.start(), m.end()):
            taken.append((m.start(), m.end()))  # "25 April", "10:21 AM": a date or time, not a count
    for m in _YEAR.finditer(text):
        if free(m.start(), m.end()):
            out.append({"start": m.start(), "end": m.end(), "figure": m.group(0), "value": float(m.group("year")),
                        "unit": "year", "scale": 1.0, "kind": "year"})
            taken.append((m.start(), m.end()))
    for m in _COUNT.finditer(text):
        num = m.group("num")
        end = m.end("scale") if m.group("scale") else m.end("num")
        if not free(m.start(), end):
            continue
        if m.start() > 0 and text[m.start() - 1].isalpha():
            continue  # footnote marker glued to a word ("early.24" is caught by the lookbehind; "COVID-19" here)
        scale = _SCALE_WORDS.get((m.group("scale") or "").lower(), 1.0)
        if scale == 1.0 and "," not in num and "." not in num and len(num) < 2:
            continue  # single digits are prose ("1 year", "2 hospitals") more often than claims worth reconciling
        noun = (m.group("noun") or "").strip().lower()
        unit = "years" if noun in ("years", "year") else "count"
        out.append({"start": m.start(), "end": end, "figure": text[m.start():end].strip(), "value": _number(num) * scale,
                    "unit": unit, "scale": scale, "kind": "count"})
        taken.append((m.start(), end))
    # "£68.58 compared to £25.72" carries per-head from a neighbour: inherit when the sentence says per person
    if any(f["kind"] == "per_head" for f in out) or _PER_HEAD_AFTER.search(text):
        for f in out:
            if f["kind"] == "money" and f["scale"] == 1.0 and "." in f["figure"] and f["value"] < 10000:
                f["kind"], f["unit"] = "per_head", f["unit"] + " per head"
    return sorted(out, key=lambda f: f["start"])


def extract_claims(lines: Sequence[tuple[int, int, str]], places: PlaceMatcher) -> list[Claim]:
    """Claims in a document given as (page, line, text) rows in reading order."""
    claims, chart_lines = _chart_values(lines, places)
    prose = [(p, ln, "" if (p, ln) in chart_lines or _table_row(t) else t) for p, ln, t in lines]
    for paragraph in _paragraphs(prose):
        sentences = _sentences(paragraph)
        for i, sentence in enumerate(sentences):
            words = len(_WORDS.findall(sentence.text))
            if words < 4:
                continue  # axis ticks, page numbers, stray labels: not a claim
            figures = _figures(sentence.text)
            if not figures or len(figures) * 2 > words:
                continue  # a run of figures with few words is a table row, not a sentence
            named = places.find(sentence.text)
            context = " ".join(s.text for s in sentences[max(0, i - 1):i + 2])
            in_order = _respectively(sentence.text, figures, named)
            for f in figures:
                exclude = [(g["start"], g["end"]) for g in figures if g["kind"] != "year"]
                period = _period(sentence.text, exclude) if f["kind"] != "year" else f["figure"]
                page, line, col = sentence.positions[min(f["start"], len(sentence.positions) - 1)]
                place = in_order.get(f["start"]) or _nearest_place(named, f["start"], f["end"], sentence.text)
                per_head = f["kind"] == "per_head"
                measure = _measure(sentence.text, f["kind"], per_head) or _measure(context, f["kind"], per_head) \
                    or ("amount per head" if per_head else None)
                claims.append(Claim(page, line, col, sentence.text, context, f["figure"], f["value"], f["unit"], f["scale"],
                                    f["kind"], [p for _, p in named], place, period, measure))
    return _dedupe(sorted(claims, key=lambda c: (c.page, c.line, c.col)))


_WORDS = re.compile(r"[A-Za-z]{2,}")
_TOKEN_NUMBER = re.compile(r"^[(£$€]?-?\d[\d,./:%-]*\)?$")


def _table_row(text: str) -> bool:
    """A line of a table rather than prose: two or more figures making up at least 40% of its tokens."""
    tokens = text.split()
    numbers = sum(1 for t in tokens if _TOKEN_NUMBER.match(t))
    return numbers >= 2 and numbers >= 0.4 * len(tokens)


def _respectively(text: str, figures: list[dict], named: list[tuple[int, Place]]) -> dict[int, Place]:
    """'A ... than in B - £x compared to £y, respectively': the n-th money figure goes with the n-th place."""
    if "respectively" not in text.lower():
        return {}
    money = [f for f in figures if f["kind"] in ("money", "per_head", "percent")]
    distinct: list[Place] = []
    for _, place in named:
        if place not in distinct:
            distinct.append(place)
    if len(money) < 2 or len(money) != len(distinct):
        return {}
    return {f["start"]: place for f, place in zip(money, distinct)}


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen = set()
    out = []
    for c in claims:
        key = (c.page, c.line, c.col)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return out


_LABEL_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")
_CAPTION = re.compile(r"^\s*(?:figure|fig\.|chart|table)\s*\d+\s*[:.]", re.IGNORECASE)
_SERIES_WORDS = {"men": "male", "males": "male", "male": "male", "women": "female", "females": "female", "female": "female"}


def _chart_values(lines: Sequence[tuple[int, int, str]], places: PlaceMatcher) -> tuple[list[Claim], set[tuple[int, int]]]:
    """Label/number pairs of a chart flattened to text, read as figure values of the places labelled."""
    rows = [(p, ln, t.strip()) for p, ln, t in lines if t.strip()]
    claims: list[Claim] = []
    used: set[tuple[int, int]] = set()
    i = 0
    while i < len(rows) - 3:
        # a run of (place label, number) pairs
        run = []
        j = i
        while j + 1 < len(rows) and not _LABEL_NUMBER.match(rows[j][2]) and _LABEL_NUMBER.match(rows[j + 1][2]) \
                and len(rows[j][2]) <= 60:
            run.append((rows[j], rows[j + 1]))
            j += 2
        if len(run) < 4 or sum(1 for label, _ in run if places.find(label[2])) < len(run) / 2:
            i += 1
            continue
        caption = next((r for r in rows[j:j + 12] if _CAPTION.match(r[2])), None) \
            or next((r for r in reversed(rows[max(0, i - 30):i]) if _CAPTION.match(r[2])), None)
        caption_text = caption[2] if caption else ""
        if caption:  # a caption wrapped onto the next line(s)
            k = rows.index(caption)
            caption_text = " ".join(r[2] for r in rows[k:k + 3] if not _LABEL_NUMBER.match(r[2]))
        legend = [_SERIES_WORDS[r[2].lower()] for r in rows[max(0, i - 12):i] if r[2].lower() in _SERIES_WORDS]
        seen: dict[str, int] = {}
        measure = _measure(caption_text, "figure_value", False)
        period = _period(caption_text)
        unit = "years" if measure and "life expectancy" in measure else "count"
        for (label_row, number_row) in run:
            label = label_row[2]
            n = seen.get(label, 0)
            seen[label] = n + 1
            series = legend[n] if n < len(legend) else None
            found = places.find(label)
            place = found[0][1] if found else None
            used.update({(label_row[0], label_row[1]), (number_row[0], number_row[1])})
            claims.append(Claim(number_row[0], number_row[1], 1, f"{label}: {number_row[2]}",
                                caption_text or f"chart values near line {label_row[1]}", number_row[2],
                                float(number_row[2]), unit, 1.0, "figure_value", [place] if place else [], place,
                                period, measure, series))
        i = j
    return claims, used
