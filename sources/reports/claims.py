"""Numeric claims: figures in report sentences that assert something about a measure.

:func:`extract_claims` takes a document's text lines (page, line, text) and returns one :class:`Claim`
per figure that asserts something: an amount (``£7,680,980``; a currency conversion such as
``$17 billion (£13 billion)`` is *one* claim, valued in pounds), an amount per head (``£11.34 per
person``), a count (``5.4 million residents``), a share (``20 percent below the UK average``, ``a fifth
of people``), a change (``0.7 percent growth``, ``£81 million more``), a ratio (``two and a half times
more``), a difference (``1 year 10 months lower``), a ranking (``the second lowest``) and a level read
from a chart. ``claim_kind`` says which.

What is *not* a claim is dropped by general rules, each applied to every sentence: years, decades,
dates, times and period ranges; page, figure, table and section references; footnote markers glued
to words or opening a sentence; list and section numbering; index bases (``UK=100``); rate
denominators (``per 100,000``); ages (``under 75``); "top N" qualifiers; durations that compare
nothing (``12 years of experience``; a duration followed by *lower*/*fewer*/*gap* is a difference);
compound modifiers (``6-floor``); figures inside a policy ask (``calling for government to allocate
20%``) and inside a scenario's "if ..." clause; the slice that defines a group (``the most deprived ten
percent``); numeric dates and identifiers (``30/04/2014``, ``3327505``); lines that are table rows or axis ticks,
and "sentences" that are flattened tables (three numbers in a row, leader dots, more than a dozen figures).

Each claim carries its sentence and the sentences around it, the place it is about (with
``place_basis`` saying how that place was chosen: named before the figure, "in"/"for" after it,
"respectively", the previous sentence, or "the region" read as the region the document names most),
the period the sentence states, a qualifier (``over``, ``less than``...), and a measure hint from the
measure words nearest the figure.

Charts flattened into text (a label line, then a number line, as in the Yorkshire and Humber seed's
healthy life expectancy map) are read too: each number becomes a ``level`` claim for its label's
place, with the measure and period from the figure's caption and the series (men/women) from the
chart's legend order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

CLAIM_KINDS = ("amount", "per_head", "count", "level", "share", "change", "ratio", "difference", "ranking")

_CURRENCY = {"£": "GBP", "$": "USD", "€": "EUR"}
_SCALE_WORDS = {
    "thousand": 1e3, "k": 1e3,
    "million": 1e6, "m": 1e6, "mn": 1e6, "millions": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "billions": 1e9,
    "trillion": 1e12, "tn": 1e12,
}
_WORD_VALUES = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "a": 1, "an": 1,
}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10}
_FRACTIONS = {"half": 0.5, "a half": 0.5, "a third": 1 / 3, "one third": 1 / 3, "a quarter": 0.25, "one quarter": 0.25,
              "a fifth": 0.2, "one fifth": 0.2, "a sixth": 1 / 6, "a tenth": 0.1, "two thirds": 2 / 3, "three quarters": 0.75}
_WORDNUM = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty)"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_QUALIFIER = re.compile(r"\b(?:more than|over|above|at least|less than|fewer than|under|below|just under|just over|nearly|almost|"
                        r"around|about|approximately|roughly|up to|some|just|only|n~|~)\s*$", re.IGNORECASE)

# --- spans that are never claims ------------------------------------------------------------------------
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_NOT_CLAIMS = [
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s?[-–]\s?\d{{1,2}}(?:st|nd|rd|th)?)?\s+(?:{_MONTHS})\b"),          # 25 April, 14-15 December
    re.compile(rf"\b(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?!\s*(?:%|per|million|billion))"),                # April 25
    re.compile(r"\b\d{1,2}:\d{2}(?:\s?[AaPp][Mm])?\b"),                                                           # 10:21 AM
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b|\b\d{4}-\d{2}-\d{2}\b"),                                # 30/04/2014, 2014-04-30
    re.compile(r"(?<![\d,.£$€])\d{5,}(?![\d,.%])(?!\s?(?:million|billion|thousand|bn|m\b|k\b|people|residents|jobs))"),  # 3327505: an identifier
    re.compile(r"(?<!\d)(?:1[89]|20)\d{2}(?:\s?(?:-|–|—|/|to)\s?(?:1[89]|20)\d{2}|\s?(?:-|–|—|/)\s?\d{2})(?![\d%]|\.\d)"),  # 2015-2017, 2004/05
    re.compile(r"(?<![\d£$€.,])(?:1[89]|20)\d{2}(?:s|\.\d{1,2}(?=\s|$))?(?![\d%]|[,.]\d)(?!\s?(?:%|per\s?cent|percent|million|billion|bn|m\b|k\b))"),  # years, decades, "2021.29" (a footnote)
    re.compile(r"\b(?:see\s+)?(?:pages?|pp?\.|figures?|fig\.|tables?|charts?|sections?|chapters?|appendix|annex|"
               r"recommendations?|footnotes?|notes?|workstream|phase|part)\s+\d+(?:\.\d+)*(?:\s*(?:-|–|and|to)\s*\d+)?", re.IGNORECASE),
    re.compile(r"\b[A-Z][A-Za-z]{1,}\s*=\s*100\b"),                                                              # UK=100
    re.compile(r"\bper\s+\d{1,3}(?:,\d{3})*\b", re.IGNORECASE),                                                   # per 100,000
    re.compile(r"\b(?:aged?|ages)\s+\d{1,2}\s*(?:to|-|–)\s*\d{1,2}\b", re.IGNORECASE),                                 # aged 16 to 64
    re.compile(r"\b(?:under|aged?|over)[\s-]+\d{1,2}s?(?=\s*(?:mortality|year[\s-]olds?|years? old|s\b|and over|\)|$))", re.IGNORECASE),  # ages
    re.compile(r"\b(?:under|aged)[\s-]+\d{1,2}\b(?!\s*(?:%|per|million|billion|,\d))", re.IGNORECASE),
    re.compile(r"\btop\s+\d+\b", re.IGNORECASE),                                                                  # top 20 universities
    re.compile(r"\d+(?=-[A-Za-z])"),                                                                             # 6-floor, COVID-19 handled below
    re.compile(r"(?<=[A-Za-z\-])\d+"),                                                                            # COVID-19, YHealth4growth, P01
    re.compile(r"(?<=[A-Za-z)\]’'\"”][.,;:])\d{1,3}(?![\d,.]*\d\s*(?:%|per\s?cent|percent))"),                   # footnote: early.24
    re.compile(r"(?<=\))\d{1,3}\b"),                                                                              # (figure 4).27 / ).9
    re.compile(r"\|\s*\d{1,4}\b"),                                                                                # #Tag | 20 (page footer)
]
_SENTENCE_START_NOISE = re.compile(
    r"^(?:\d{1,2}(?:\.\d+)+\.?\s+(?=[A-Z])"                                                                 # 1.2 High Potential ...
    r"|\d{1,2}[.)]\s+(?=[A-Z])"                                                                             # 1. Maintain ...
    r"|\d{1,3}\s+(?=(?:The|A|An|In|It|Its|This|These|Those|There|However|For|As|And|But|We|Our|Their|Between|Since|Only|Research|Some)\b))"  # footnote before a sentence
)
_ASK = re.compile(r"\b(?:calling (?:on|for)|calls? (?:on|for)|urg(?:e|es|ed|ing)|we want|we propose|"
                  r"(?:should|must)\s+(?:allocate|invest|spend|increase|provide|commit|deliver|fund|give|receive|match)|"
                  r"propos(?:e|es|ed|ing) (?:that|to)|to allocate|ask(?:s|ed|ing)? (?:for|government)|demand(?:s|ing)?)\b", re.IGNORECASE)
_GROUP_SLICE = re.compile(rf"\b(?:most|least|top|bottom|poorest|richest)\s+(?:deprived\s+|affluent\s+)?(?:{_NUM}|{_WORDNUM})\s?(?:%|per\s?cent|percent)", re.IGNORECASE)

# --- claims ---------------------------------------------------------------------------------------------
_MONEY = re.compile(
    rf"(?P<cur>[£$€])\s?(?P<num>{_NUM})(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|m|k|b)\b)?",
    re.IGNORECASE,
)
_PENCE = re.compile(r"\b(?P<num>\d{1,2})p\s+in\s+(?:every|each|the)\s+(?:pound|£1?)\b", re.IGNORECASE)
_WORD_MONEY = re.compile(r"\b(?P<frac>half|a quarter|a third)\s+a\s+(?P<scale>million|billion)\s+pounds\b", re.IGNORECASE)
_WORD_COUNT = re.compile(r"\b(?P<frac>half|a quarter|a third)\s+a\s+(?P<scale>million|billion)\b(?!\s+pounds)", re.IGNORECASE)
_CONVERSION = re.compile(r"^\s*\(\s*(?P<cur>[£$€])\s?(?P<num>" + _NUM + r")(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|m|k|b)\b)?\s*\)")
_PER_HEAD = re.compile(r"^\s*(?:total\s*)?(?:/\s*)?(?:\w+\s){0,2}?(?:per (?:person|head|capita|resident|inhabitant|patient)|a head|each person)\b", re.IGNORECASE)
_PER_HEAD_BEFORE = re.compile(r"\bper (?:head|person|capita|resident)\s+(?:of|was|is|at|stood at|reached)\s*$", re.IGNORECASE)
_PER_HEAD_ANY = re.compile(r"\b(?:per (?:person|head|capita|resident|inhabitant)|a head)\b", re.IGNORECASE)
_PERCENT = re.compile(rf"(?P<num>{_NUM}|{_WORDNUM})\s?(?:%|per ?cent\b|percent\b|percentage points?\b)", re.IGNORECASE)
_IN_EVERY = re.compile(r"\b(?P<num>\d{1,3}|" + _WORDNUM + r")\s+in\s+(?:every\s+)?(?P<den>\d{1,3}(?:,\d{3})*|" + _WORDNUM + r")\b(?=\s+[a-z])", re.IGNORECASE)
_TIMES = re.compile(
    rf"(?P<n>one and a half|two and a half|three and a half|twice|{_WORDNUM}|\d+(?:\.\d+)?)\s+times\b"
    r"(?:\s+(?:more|less|higher|lower|greater|larger|smaller|as (?:much|many|high|likely|large)))?",
    re.IGNORECASE,
)
_TWICE = re.compile(r"\btwice\s+(?:as|the)\b", re.IGNORECASE)
_FRACTION = re.compile(r"\b(?P<frac>two thirds|three quarters|a half|half|a third|one third|a quarter|one quarter|a fifth|one fifth|a sixth|a tenth)\b"
                       r"(?!\s+(?:a|an)\s+(?:million|billion|century|decade|year|hour|day|dozen))(?!\s+of\s+(?:the\s+)?(?:year|decade|century))", re.IGNORECASE)
_DURATION = re.compile(
    rf"\b(?:{_NUM}\s*(?:to|-|–)\s*)?(?P<n>{_NUM}|{_WORDNUM}|a)[\s-]+(?P<unit>years?|months?|weeks?|days?|decades?|hours?|minutes?)\b"
    rf"(?:\s+(?:and\s+)?(?P<m>{_NUM}|{_WORDNUM})\s+months?\b)?",
    re.IGNORECASE,
)
_COMPARATIVE_AFTER = re.compile(r"^\s*(?:\w+\s+){0,2}?(?:lower|higher|less|more|fewer|shorter|longer|earlier|later|gap|behind|ahead|below|above)\b", re.IGNORECASE)
_COMPARATIVE_BEFORE = re.compile(r"\b(?:fewer|more|less|extra|additional|longer|shorter)\s*$", re.IGNORECASE)
_FEWER_YEARS = re.compile(rf"\b(?P<n>{_NUM}|{_WORDNUM})\s+(?P<cmp>fewer|more|less|extra|additional)\s+(?P<unit>years?|months?)\b", re.IGNORECASE)
_RANK_ORDINAL = re.compile(
    r"\b(?P<ord>second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th))[\s-]+"
    r"(?P<sup>lowest|highest|largest|smallest|biggest|most|least|best|worst|fastest|slowest|poorest|richest)\b", re.IGNORECASE)
_RANK_VERB = re.compile(r"\brank(?:s|ed|ing)?\s+(?:it\s+|them\s+)?(?P<ord>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th))\b", re.IGNORECASE)
_RANK_SUPER = re.compile(r"\bthe\s+\**(?P<sup>lowest|highest|largest|smallest|biggest|most|least|fewest|fastest|slowest)\b", re.IGNORECASE)
_MEASURE_NOUN = re.compile(r"^\**\s*(?:[\w-]+\**\s+){0,3}?(?:funding|funds|money|spend|spending|investment|growth|rate|number|proportion|share|"
                           r"concentrations?|levels?|productivity|life expectancy|income|gva|population|employment|mortality|businesses|companies)\b"
                           r"|^\s*(?:of|in|among|across)\s+(?:any|all|the|england|english|uk)\b"
                           r"|^\s*[.;,]|^\s*$", re.IGNORECASE)
_COUNT = re.compile(
    rf"(?<![\w£$€.,/\-–])(?P<num>{_NUM})(?:\s?(?P<scale>thousand|million|billion|bn|m|k)\b)?",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?(?:(?<=[a-z)”’\"][.!?])\d{1,3})?\s+(?=[\"“‘(]?[A-Z£$€0-9•\-])")  # "(figure 4).27 Some": a footnote then a new sentence
_BULLET = re.compile(r"^\s*(?:[-•*▪●◦■–]|\d{1,2}[.)])\s+")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|Prof|Dr|Mr|Mrs|Ms|St|No|approx|c|cf|Fig)\.)$", re.IGNORECASE)
_CHANGE_BEFORE = re.compile(r"\b(?:(?:increase|decrease|rise|fall|drop|cut|growth|decline|reduction|gain|loss)\s+(?:of|by)|"
                            r"(?:grew|grown|rose|risen|fell|fallen|increased|decreased|declined|dropped|reduced|cut|widened|narrowed|"
                            r"went up|went down|shrunk|shrank)(?:\s+by)?)\s+(?:around\s+|about\s+|over\s+|nearly\s+|almost\s+|just\s+)?$", re.IGNORECASE)
_CHANGE_AFTER = re.compile(r"^\s*(?:more|less|extra|increase|decrease|rise|fall|drop|growth|decline|reduction)\b(?!\s+likely)", re.IGNORECASE)
_RELATIVE_AFTER = re.compile(r"^\s*(?:more|less) likely\b|^\s*(?:higher|lower|greater|smaller) than\b", re.IGNORECASE)
_SHARE_AFTER = re.compile(r"^\s*(?:of\b|below\b|above\b|lower than\b|higher than\b|more likely\b|less likely\b|(?:\w+\s+){0,2}(?:below|above) the\b)", re.IGNORECASE)

_MEASURES: list[tuple[tuple[str, ...], str]] = [
    (("healthy life expectancy", "healthy age expectancy", "years in good health", "healthy life", "good health"), "healthy life expectancy"),
    (("life expectancy",), "life expectancy"),
    (("sickness absence", "hours lost"), "sickness absence"),
    (("die early", "premature mortality", "mortality", "deaths"), "mortality"),
    (("gva per head", "gross value added per head", "gva per person"), "gross value added per head"),
    (("gva", "gross value added"), "gross value added"),
    (("productivity",), "productivity"),
    (("residents", "population", "inhabitants", "people live", "people living"), "population"),
    (("unemployment",), "unemployment"),
    (("employment rate",), "employment rate"),
    (("research", "r&d", "studentship"), "research funding"),
    (("infrastructure",), "infrastructure funding"),
    (("public health funding", "health spend", "spend", "spending", "spent"), "spending"),
    (("investment", "invested", "investing", "investments"), "investment"),
    (("funding", "funded", "awarded", "grant"), "funding"),
    (("turnover",), "turnover"),
    (("jobs", "employ", "working in", "workforce", "staff"), "jobs"),
]
_MONEY_HINTS = {"research funding", "funding", "spending", "investment", "infrastructure funding"}


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
        # London, Oxford and Cambridge: not the Greater South East (a group the observatory does not hold)
        "golden triangle": "golden_triangle", "London, Oxford and Cambridge": "golden_triangle", "UK": "K02000001", "United Kingdom": "K02000001",
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
            if key.isupper() and _ends_with_capitalised_word(text, m.start()):
                continue  # "Innovate UK", "Cancer Research UK": part of an organisation's name
            canonical = self._lower.get(key.lower(), key)
            found.append((m.start(), Place(canonical, self.codes.get(canonical))))
        return found


def _ends_with_capitalised_word(text: str, end: int) -> bool:
    """Whether ``text[:end]`` ends with a word holding a capital (``[A-Z][\\w&-]*``) and then white space.

    Read backwards from ``end`` (a regular expression anchored at the end would try every start in the text).
    """
    head = text[:end].rstrip()
    if len(head) == end:
        return False
    start = len(head)
    while start and (head[start - 1].isalnum() or head[start - 1] in "_&-"):
        start -= 1
    return any("A" <= ch <= "Z" for ch in head[start:])


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
    claim_kind: str = "count"
    qualifier: str | None = None
    place_basis: str | None = None


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


def _number(text: str) -> float:
    word = text.strip().lower()
    if word in _WORD_VALUES:
        return float(_WORD_VALUES[word])
    return float(text.replace(",", ""))


_MEASURE_KEYS = sorted(((key, order, hint) for order, (keys, hint) in enumerate(_MEASURES) for key in keys), key=lambda k: -len(k[0]))
_MEASURE_PATTERN = re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(k) for k, _, _ in _MEASURE_KEYS) + ")")
_MEASURE_OF_KEY = {k: (order, hint) for k, order, hint in _MEASURE_KEYS}


@lru_cache(maxsize=256)
def _measure_hits(text: str) -> tuple[str, tuple[tuple[int, int, int, str], ...]]:
    """Measure words in a text, longest phrase first at each place (so "healthy life expectancy" is not also "life expectancy")."""
    lower = re.sub(r"\b([A-Z]) (?=[a-z])", r"\1", text).lower()  # "H ealthy" (a drop capital) -> "healthy"
    return lower, tuple((m.start(), m.end(), *_MEASURE_OF_KEY[m.group(0)]) for m in _MEASURE_PATTERN.finditer(lower))


def _measure_near(text: str, pos: int, per_head: bool, end: int | None = None) -> str | None:
    """The measure whose words are nearest the figure at ``pos`` (a longer phrase wins over a word inside it)."""
    lower, hits = _measure_hits(text)
    if not hits:
        return None
    end = pos if end is None else end
    _, _, _, hint = min(hits, key=lambda h: (h[0] - end if h[0] >= end else max(0, pos - h[1]), h[2]))
    if per_head and hint in _MONEY_HINTS:
        return f"{hint} per head"
    if per_head and hint == "gross value added":
        return "gross value added per head"
    if hint == "gross value added" and re.search(r"growth rate|\bgrowth\b", lower):
        return "gross value added growth"
    return hint


def measure_growth(text: str, pos: int) -> bool:
    """A percentage that the nearest measure words call a growth rate ("0.7 percent growth", "a UK average of 1.9 percent")."""
    return (_measure_near(text, pos, False) or "").endswith("growth")


def _qualifier(text: str, start: int) -> str | None:
    m = _QUALIFIER.search(text[max(0, start - 20):start])
    return m.group(0).strip().lower() if m else None


def _figures(text: str, places: PlaceMatcher | None = None) -> list[dict]:
    """Every figure in a sentence that asserts something: position, printed form, value, unit, scale, kinds."""
    taken: list[tuple[int, int]] = []
    out: list[dict] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    def add(a: int, b: int, figure: str, value: float, unit: str, kind: str, claim_kind: str, scale: float = 1.0) -> None:
        out.append({"start": a, "end": b, "figure": figure.replace("*", "").strip(), "value": value, "unit": unit, "scale": scale,
                    "kind": kind, "claim_kind": claim_kind})
        taken.append((a, b))

    # 1. spans that are never claims
    m = _SENTENCE_START_NOISE.match(text)
    if m:
        taken.append((0, m.end()))
    for pattern in _NOT_CLAIMS:
        for m in pattern.finditer(text):
            if free(m.start(), m.end()):
                taken.append((m.start(), m.end()))
    for m in _GROUP_SLICE.finditer(text):
        taken.append((m.start(), m.end()))

    # 2. money, currency conversions (one claim, valued in pounds), pence-in-the-pound shares
    for m in _MONEY.finditer(text):
        if not free(m.start(), m.end()):
            continue
        scale_word = (m.group("scale") or "").lower()
        if scale_word == "b" and not re.match(r"\s?b\b", text[m.end("num"):]):
            scale_word = ""
        scale = _SCALE_WORDS.get(scale_word, 1.0)
        currency, value, end = _CURRENCY[m.group("cur")], _number(m.group("num")) * scale, m.end()
        conv = _CONVERSION.match(text[m.end():])
        if conv and conv.group("cur") != m.group("cur"):
            cscale = _SCALE_WORDS.get((conv.group("scale") or "").lower(), 1.0)
            end = m.end() + conv.end()
            if _CURRENCY[conv.group("cur")] == "GBP" or currency != "GBP":
                currency, value, scale = _CURRENCY[conv.group("cur")], _number(conv.group("num")) * cscale, cscale
        after, before = text[end:end + 40], text[max(0, m.start() - 40):m.start()]
        per_head = bool(_PER_HEAD.match(after) or _PER_HEAD_BEFORE.search(before))
        change = bool(_CHANGE_BEFORE.search(before) or _CHANGE_AFTER.match(after))
        add(m.start(), end, text[m.start():end], value, f"{currency} per head" if per_head else currency,
            "per_head" if per_head else "money", "per_head" if per_head else ("change" if change else "amount"), scale)
    for m in _WORD_MONEY.finditer(text):
        if free(m.start(), m.end()):
            scale = _SCALE_WORDS[m.group("scale").lower()]
            add(m.start(), m.end(), m.group(0), _FRACTIONS[m.group("frac").lower()] * scale, "GBP", "money", "amount", scale)
    for m in _PENCE.finditer(text):
        if free(m.start(), m.end()):
            add(m.start(), m.end(), m.group(0), float(m.group("num")), "percent", "percent", "share")

    # 3. differences in time ("1 year 10 months lower", "18 fewer years"); other durations are not claims
    for m in _FEWER_YEARS.finditer(text):
        if free(m.start(), m.end()):
            value = _number(m.group("n")) / (12 if m.group("unit").lower().startswith("month") else 1)
            add(m.start(), m.end(), m.group(0), value, "years", "duration", "difference")
    for m in _DURATION.finditer(text):
        if not free(m.start(), m.end()):
            continue
        unit = m.group("unit").lower()
        n = 10.0 if unit.startswith("decade") and m.group("n").lower() == "a" else _number(m.group("n"))
        if unit.startswith(("hour", "minute")):
            taken.append((m.start(), m.end()))  # "30 minutes of activity": a threshold or a duration, not a claim
            continue
        years = n * {"y": 1, "m": 1 / 12, "w": 1 / 52, "d": 1 / 365, "e": 10}[unit[0] if not unit.startswith("dec") else "e"]
        if m.group("m"):
            years += _number(m.group("m")) / 12
        comparative = _COMPARATIVE_AFTER.match(text[m.end():m.end() + 30]) or re.match(r"\s*gap\b", text[m.end():])
        gap = re.search(r"\b(?:gap|difference|differences)\b", text[:m.start()], re.IGNORECASE)
        if comparative and unit[0] in "ymd" and m.group("n").lower() != "a" or (comparative and unit.startswith("dec")):
            add(m.start(), m.end(), m.group(0), round(years, 4), "years", "duration", "difference")
        elif "." in m.group("n") and unit.startswith("year"):
            # "59.7 years": a measure in years (life expectancy), not a span of time; a gap when the sentence says so
            add(m.start(), m.end(), m.group(0), years, "years", "count", "difference" if gap else "level")
        else:
            taken.append((m.start(), m.end()))

    # 4. percentages, "n in every m", ratios and fractions
    for m in _PERCENT.finditer(text):
        if not free(m.start(), m.end()):
            continue
        after, before = text[m.end():m.end() + 40], text[max(0, m.start() - 40):m.start()]
        if _RELATIVE_AFTER.match(after):
            claim_kind = "difference"
        elif _SHARE_AFTER.match(after):
            claim_kind = "share"
        elif _CHANGE_BEFORE.search(before) or _CHANGE_AFTER.match(after):
            claim_kind = "change"
        else:
            claim_kind = "share"
        add(m.start(), m.end(), m.group(0), _number(m.group("num")), "percent", "percent", claim_kind)
    for m in _IN_EVERY.finditer(text):
        if free(m.start(), m.end()):
            add(m.start(), m.end(), m.group(0), 100 * _number(m.group("num")) / _number(m.group("den")), "percent", "percent", "share")
    for m in _TIMES.finditer(text):
        if free(m.start(), m.end()):
            n = m.group("n").lower()
            value = {"twice": 2.0, "one and a half": 1.5, "two and a half": 2.5, "three and a half": 3.5}.get(n) or _number(n)
            add(m.start(), m.end(), m.group(0), value, "times", "ratio", "ratio")
    for m in _TWICE.finditer(text):
        if free(m.start(), m.end()):
            add(m.start(), m.start() + 5, "twice", 2.0, "times", "ratio", "ratio")
    for m in _FRACTION.finditer(text):
        if not free(m.start(), m.end()):
            continue
        after = text[m.end():m.end() + 60]
        of_place = re.match(r"\s+of\s+(?:the\s+)?", after)
        relative = bool(re.match(r"\s+(?:per (?:person|head|capita)|as (?:much|many)|the (?:level|rate|amount))", after))
        if of_place and places is not None:
            found = places.find(after[of_place.end():])
            relative = relative or bool(found and found[0][0] == 0)
        if not (relative or of_place or re.match(r"\s+(?:this|that|these|those|its|their)\b", after)):
            continue  # "half" as a word, not a proportion of something
        value = _FRACTIONS[m.group("frac").lower()]
        add(m.start(), m.end(), m.group(0), value if relative else 100 * value, "times" if relative else "percent",
            "ratio" if relative else "percent", "ratio" if relative else "share")

    # 5. rankings: "the second lowest", "ranking it third", "the most direct funding"
    for m in _RANK_ORDINAL.finditer(text):
        if free(m.start(), m.end()):
            o = m.group("ord").lower()
            add(m.start(), m.end(), m.group(0), float(_ORDINALS.get(o) or int(re.match(r"\d+", o).group(0))), "rank", "rank", "ranking")
    for m in _RANK_VERB.finditer(text):
        if free(m.start(), m.end()):
            o = m.group("ord").lower()
            add(m.start(), m.end(), m.group(0), float(_ORDINALS.get(o) or int(re.match(r"\d+", o).group(0))), "rank", "rank", "ranking")
    for m in _RANK_SUPER.finditer(text):
        if not free(m.start(), m.end()) or re.search(r"\b(?:one|some|many|few|among|two|three)\s+of\s*$", text[max(0, m.start() - 14):m.start()], re.I):
            continue
        if _MEASURE_NOUN.match(text[m.end():m.end() + 45]):
            add(m.start(), m.end(), m.group(0), 1.0, "rank", "rank", "ranking")

    # 6. counts: "5.4 million local residents", "more than 250 companies", "half a million people"
    for m in _WORD_COUNT.finditer(text):
        if free(m.start(), m.end()):
            scale = _SCALE_WORDS[m.group("scale").lower()]
            add(m.start(), m.end(), m.group(0), _FRACTIONS[m.group("frac").lower()] * scale, "count", "count", "count", scale)
    for m in _COUNT.finditer(text):
        num = m.group("num")
        end = m.end("scale") if m.group("scale") else m.end("num")
        if not free(m.start(), end):
            continue
        scale = _SCALE_WORDS.get((m.group("scale") or "").lower(), 1.0)
        if scale == 1.0 and "," not in num and "." not in num and len(num) < 2:
            continue  # single digits are prose ("2 hospitals"), list markers or fragments more often than claims
        before = text[max(0, m.start() - 40):m.start()]
        rate = re.match(r"\s*per\s+(?:\d[\d,]*|thousand|million|head|person|capita)\b", text[end:end + 30], re.IGNORECASE)
        claim_kind = "change" if _CHANGE_BEFORE.search(before) else ("level" if rate else "count")
        add(m.start(), end, text[m.start():end], _number(num) * scale, "count", "count", claim_kind, scale)

    # "£68.58 compared to £25.72" carries per-head from a neighbour: inherit when the sentence says per person
    if any(f["kind"] == "per_head" for f in out) or _PER_HEAD_ANY.search(text):
        for f in out:
            if f["kind"] == "money" and f["scale"] == 1.0 and f["value"] < 100000 and not re.match(r"\s*total", text[f["end"]:]):
                f["kind"], f["unit"], f["claim_kind"] = "per_head", f["unit"] + " per head", "per_head"
    # "fell by 24%, compared with 14% in the South": a comparator takes the kind of the figure it is compared with
    ordered = sorted(out, key=lambda f: f["start"])
    for prev, f in zip(ordered, ordered[1:]):
        if f["unit"] == prev["unit"] and prev["claim_kind"] in ("change", "level") and f["claim_kind"] in ("share", "count") \
                and _COMPARATOR.search(text[prev["end"]:f["start"]]):
            f["claim_kind"] = prev["claim_kind"]
    # figures inside a policy ask ("calling for government to allocate 20% of ...") are asks, not claims
    ask = _ASK.search(text)
    if ask:
        out = [f for f in out if f["start"] < ask.start()]
    # a figure inside an "if ..." clause is a scenario's assumption ("if these anchors could shift ten percent ..."), not a claim
    for m in re.finditer(r"\bif\b.*?(?=[,;:]|\bthen\b|\b(?:this|it|they|that)\s+(?:could|would|will|might|may)\b|$)", text, re.IGNORECASE):
        out = [f for f in out if not (m.start() < f["start"] < m.end())]
    for f in out:
        f["qualifier"] = _qualifier(text, f["start"])
    return sorted(out, key=lambda f: f["start"])


_IN_PLACE = re.compile(r"^\s*(?:\w+\s){0,3}?(?:in|for|to|at|by)\s+(?:the\s+)?$", re.IGNORECASE)
_THE_REGION = re.compile(r"\b(?:the|this|our)\s+region(?:’s|'s)?\b", re.IGNORECASE)


_RELATIVE_KINDS = ("ratio", "difference", "ranking", "share")
_COMPARATOR = re.compile(r"\b(?:(?<!less )(?<!more )(?<!fewer )(?<!rather )(?<!greater )than|compared (?:to|with)|against|versus|vs\.?|behind|ahead of)\b", re.IGNORECASE)


_PREPOSITION_BEFORE = re.compile(r"\b(?:in|of|for|to|from|at|across|between|within|than|on|by|into)\s+(?:the\s+|a\s+|an\s+)?[‘'\"“]?$", re.IGNORECASE)


def _nearest_place(places: list[tuple[int, Place]], pos: int, end: int = -1, text: str = "", claim_kind: str = "amount",
                   next_figure: int | None = None, previous_end: int = 0) -> tuple[Place | None, str | None]:
    """The place a figure is about, and how it was chosen (general rules, in this order).

    1. A place named between the previous figure and this one belongs to this one ("compared to a UK average of 1.9
       percent"); when that stretch holds a comparator ("than", "compared to"), only places after it count. Of
       several, a ratio, difference, ranking, share or change takes its subject (a place not after a preposition),
       anything else the nearest.
    2. The place the figure is "in"/"for"/"to"/"across" right after it, before the next figure.
    3. The sentence's subject (first place not after a preposition or a comparator), else the nearest place
       before the figure, else the first after it.
    """
    relative = claim_kind in _RELATIVE_KINDS + ("change",)
    segment = text[previous_end:pos]
    comparators = list(_COMPARATOR.finditer(segment))
    if claim_kind in _RELATIVE_KINDS:  # a ratio's or ranking's comparator is not its subject
        floor, ceiling = previous_end, previous_end + (comparators[0].start() if comparators else len(segment))
    else:  # "compared to a UK average of 1.9 percent": the place after the comparator is this figure's
        floor, ceiling = previous_end + (comparators[-1].end() if comparators else 0), pos
    candidates = [(p, pl) for p, pl in places if floor <= p < ceiling]
    if candidates:
        if relative:
            subjects = [(p, pl) for p, pl in candidates if not _PREPOSITION_BEFORE.search(text[max(0, p - 30):p])]
            if subjects:
                return subjects[0][1], "the subject named before the figure"
        return candidates[-1][1], "named just before the figure"
    limit = next_figure if next_figure is not None else len(text)
    for p, pl in ([] if claim_kind in _RELATIVE_KINDS else places):
        if end >= 0 and end <= p <= limit and not _COMPARATOR.search(text[end:p]) and re.search(r"\b(?:in|for|to|at|across)\s+(?:the\s+)?[‘'\"“]?$", text[end:p], re.IGNORECASE):
            return pl, "named right after the figure ('in'/'for')"
    before = [(p, pl) for p, pl in places if p <= pos]
    subjects = [(p, pl) for p, pl in before if not _PREPOSITION_BEFORE.search(text[max(0, p - 30):p])
                and not _COMPARATOR.search(text[max(0, p - 40):p])]
    if relative and subjects:
        return subjects[0][1], "the sentence's subject"
    if relative:
        before = [(p, pl) for p, pl in before if not _COMPARATOR.search(text[max(0, p - 40):p])] or before
    if before:
        return before[-1][1], "nearest place named before the figure"
    after = [(p, pl) for p, pl in places if p > pos]
    if after:
        return after[0][1], "first place named after the figure"
    return (places[0][1], "the only place the sentence names") if places else (None, None)


def _period(text: str, pos: int) -> str | None:
    """The period stated nearest the figure (before it first): a range (``2015-2017``, ``between 2004 and 2018``) or a year."""
    found = []
    for m in re.finditer(r"\bbetween\s+((?:19|20)\d{2})\s+and\s+((?:19|20)\d{2})\b", text, re.IGNORECASE):
        found.append((m.start(), m.end(), f"{m.group(1)}-{m.group(2)}"))
    for m in re.finditer(r"(?<![\d£$€.,])((?:19|20)\d{2})\s?(?:-|–|—|/|to)\s?((?:19|20)\d{2}|\d{2})(?![\d%])", text):
        if not any(a <= m.start() < b for a, b, _ in found):
            found.append((m.start(), m.end(), m.group(0).replace(" ", "").replace("–", "-").replace("to", "-")))
    for m in re.finditer(r"(?<![\d£$€.,\-–/])((?:19|20)\d{2})(?![\d%s])(?!\s?(?:million|billion|bn|m\b|[-–/]\d))", text):
        if not any(a <= m.start() < b for a, b, _ in found):
            found.append((m.start(), m.end(), m.group(1)))
    if not found:
        return None
    before = [f for f in found if f[1] <= pos]
    if before:
        return max(before, key=lambda f: f[1])[2]
    after = [f for f in found if f[0] > pos and f[0] - pos <= 80 and not re.search(r";|\.(?!\d)", text[pos:f[0]])]
    return after[0][2] if after else None


def _document_region(lines: Sequence[tuple[int, int, str]], places: PlaceMatcher) -> Place | None:
    """The region a document names most often: what "the region" means in it."""
    counts: Counter[Place] = Counter()
    for _, place in places.find(" ".join(t.strip() for _, _, t in lines)):  # joined: names wrap across lines
        if place.code and place.code.startswith("E12"):
            counts[Place(place.name, place.code)] += 1
    if not counts:
        return None
    by_code: Counter[str] = Counter()
    names: dict[str, Place] = {}
    for place, n in counts.most_common():
        by_code[place.code] += n
        names.setdefault(place.code, place)  # the name the document uses most for that region
    code, n = by_code.most_common(1)[0]
    return names[code] if n >= 3 else None


def extract_claims(lines: Sequence[tuple[int, int, str]], places: PlaceMatcher) -> list[Claim]:
    """Claims in a document given as (page, line, text) rows in reading order."""
    claims, chart_lines = _chart_values(lines, places)
    region = _document_region(lines, places)
    prose = [(p, ln, "" if (p, ln) in chart_lines or _table_row(t) or _LABEL_NUMBER.match(t) else t) for p, ln, t in lines]
    for paragraph in _paragraphs(prose):
        sentences = _sentences(paragraph)
        previous: list[tuple[int, Place]] = []
        for i, sentence in enumerate(sentences):
            named = places.find(sentence.text)
            words = len(_WORDS.findall(sentence.text))
            fragment = not re.search(r"[.!?:;”\"’)]\s*$", sentence.text) and words < 12  # a label, caption or heading
            # three numbers in a row, or leader dots: a table or a contents page flattened into text, not prose
            fragment = fragment or bool(_RUN_OF_NUMBERS.search(sentence.text) or re.search(r"\.{4,}|…{2,}", sentence.text))
            figures = _figures(sentence.text, places) if words >= 4 and not fragment else []
            if figures and (len(figures) * 2 > words or len(figures) > 12):
                figures = []  # a run of figures with few words, or a dozen in one "sentence", is a table or an axis flattened into text
            context = " ".join(s.text for s in sentences[max(0, i - 1):i + 2])
            in_order = _respectively(sentence.text, figures, named)
            resolved_region = False
            # "the sixth largest city in the UK": the place after a ranking is its scope, never another figure's subject
            scopes = {p for g in figures if g["claim_kind"] == "ranking" for p, _ in named
                      if 0 <= p - g["end"] <= 40 and re.search(r"\bin\s+(?:the\s+)?$", sentence.text[g["end"]:p])}
            for f in figures:
                page, line, col = sentence.positions[min(f["start"], len(sentence.positions) - 1)]
                if f["start"] in in_order:
                    place, basis = in_order[f["start"]], "respectively: the n-th figure with the n-th place"
                else:
                    later = [g["start"] for g in figures if g["start"] > f["start"]]
                    earlier = [g["end"] for g in figures if g["end"] <= f["start"] and g["claim_kind"] != "ranking"]
                    own = named if f["claim_kind"] == "ranking" else [(p, pl) for p, pl in named if p not in scopes]
                    place, basis = _nearest_place(own, f["start"], f["end"], sentence.text, f["claim_kind"], later[0] if later else None,
                                                  earlier[-1] if earlier else 0)
                the_region = _THE_REGION.search(sentence.text)
                if region and the_region and (place is None or the_region.start() > max((p for p, _ in named if p <= f["start"]), default=-1)) \
                        and the_region.start() < f["start"]:
                    place, basis = region, f"'{the_region.group(0)}' read as {region.name}, the region the document names most"
                    resolved_region = True
                if place is None and previous:
                    place, basis = previous[-1][1], "named in the previous sentence"
                if f["kind"] == "percent" and measure_growth(sentence.text, f["start"]):
                    f["claim_kind"] = "change"
                per_head = f["kind"] == "per_head"
                measure = _measure_near(sentence.text, f["start"], per_head, f["end"]) or _measure_near(context, len(context) // 2, per_head) \
                    or ("amount per head" if per_head else None)
                claims.append(Claim(page, line, col, sentence.text, context, f["figure"], f["value"], f["unit"], f["scale"],
                                    f["kind"], [p for _, p in named], place, _period(sentence.text, f["start"]), measure,
                                    None, f["claim_kind"], f["qualifier"], basis))
            if named:
                previous = named
            elif resolved_region and region:
                previous = [(0, region)]
    return _dedupe(sorted(claims, key=lambda c: (c.page, c.line, c.col)))


_WORDS = re.compile(r"[A-Za-z]{2,}")
_RUN_OF_NUMBERS = re.compile(r"(?<![\w.,])[£$€]?\d[\d,./]*%?\s+[£$€]?\d[\d,./]*%?\s+[£$€]?\d[\d,./]*%?(?![\w])")
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
        measure = _measure_near(caption_text, 0, False)
        period = _period(caption_text, len(caption_text))
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
                                period, measure, series, "level", None, "chart label"))
        i = j
    return claims, used
