"""Claim-extraction accuracy against hand-judged truth: precision (claim rows that are real claims) and recall.

Two truth sets live in ``tests/fixtures/reports``:

* ``claims_seeds_judged.json``: every real claim of the five seed texts as ``[line, figure, claim_kind, in_scope]``;
* ``claims_unseen.json``: sentences written for the benchmark (the extractor was not tuned on them), each
  with its real claims ``[figure, claim_kind]`` and the figures that are not claims.

A claim row matches a judged claim on the same line when one printed figure contains the other (``£5.7m``
in ``$7.4 million (£5.7m)``); each judged claim is matched at most once. :func:`score` returns precision,
recall (all real claims, and in-scope claims only) and the share of matched rows whose ``claim_kind``
agrees, with the rows that did not match and the judged claims that were not found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sources.reports.claims import Claim, PlaceMatcher, extract_claims
from sources.reports.text_tables import lines_of

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "reports"


@dataclass
class Score:
    rows: int = 0
    matched_rows: int = 0
    judged: int = 0
    found: int = 0
    judged_in_scope: int = 0
    found_in_scope: int = 0
    kind_agrees: int = 0
    false_positives: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    kind_disagreements: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched_rows / self.rows if self.rows else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.judged if self.judged else 1.0

    @property
    def recall_in_scope(self) -> float:
        return self.found_in_scope / self.judged_in_scope if self.judged_in_scope else 1.0

    @property
    def kind_accuracy(self) -> float:
        return self.kind_agrees / self.matched_rows if self.matched_rows else 1.0


def _same(a: str, b: str) -> bool:
    a, b = a.lower().strip(), b.lower().strip()
    return a == b or (len(min(a, b, key=len)) >= 2 and (a in b or b in a))


def _match(score: Score, label: str, claims: list[Claim], judged: list[tuple[int | None, str, str, bool]]) -> None:
    used: set[int] = set()
    score.rows += len(claims)
    score.judged += len(judged)
    score.judged_in_scope += sum(1 for j in judged if j[3])
    for c in claims:
        hit = next((i for i, (line, fig, _, _) in enumerate(judged)
                    if i not in used and (line is None or line == c.line) and _same(fig, c.figure)), None)
        if hit is None:
            score.false_positives.append(f"{label} line {c.line}: {c.figure!r} ({c.claim_kind}) in {c.text[:90]!r}")
            continue
        used.add(hit)
        score.matched_rows += 1
        score.found += 1
        score.found_in_scope += judged[hit][3]
        score.kind_agrees += judged[hit][2] == c.claim_kind
        if judged[hit][2] != c.claim_kind:
            score.kind_disagreements.append(f"{label} line {c.line}: {c.figure!r} judged {judged[hit][2]}, extracted {c.claim_kind}")
    for i, (line, fig, kind, scope) in enumerate(judged):
        if i not in used:
            score.missed.append(f"{label} line {line}: {fig!r} ({kind}{', in scope' if scope else ''})")


def score_seeds(seeds: Path, places: PlaceMatcher, truth: Path = FIXTURES / "claims_seeds_judged.json",
                include_missed_by_design: bool = True) -> Score:
    """Precision and recall on the seed texts in ``seeds`` (files named ``<id>_*.txt``)."""
    judged = json.loads(truth.read_text(encoding="utf-8"))
    score = Score()
    for path in sorted(seeds.glob("*.txt")):
        doc = path.name[:3]
        rows = [(line, fig, kind, scope) for line, fig, kind, scope in judged.get(doc, [])]
        if include_missed_by_design:
            rows += [(None, fig, kind, scope) for fig, kind, scope in judged.get("missed_by_design", {}).get(doc, [])]
        _match(score, doc, extract_claims(lines_of(path.read_text(encoding="utf-8")), places), rows)
    return score


def score_unseen(places: PlaceMatcher, truth: Path = FIXTURES / "claims_unseen.json") -> Score:
    """Precision and recall on the hand-written sentences (each read as a one-line document)."""
    score = Score()
    for i, item in enumerate(json.loads(truth.read_text(encoding="utf-8"))["sentences"], start=1):
        claims = extract_claims([(1, 1, item["text"])], places)
        _match(score, f"unseen #{i}", claims, [(None, fig, kind, True) for fig, kind in item["claims"]])
    return score
