"""Benchmark: the observatory's PDF table extractor against pdfplumber's default ``extract_tables()``.

    .venv/bin/python benchmarks/pdf_extraction.py [--corpus DIR] [--truth DIR] [--workers N] [--repeat N]

Runs both over every PDF in the corpus (default: the copies in tests/fixtures/reports/pdfs, passwords from
its passwords.toml) in the same process and run, then scores both against the hand-transcribed truth tables
(tests/fixtures/reports/truth) with one scoring function (`sources.reports.accuracy.score`). Prints pages
per second for each and cell accuracy per truth table, with ratios. Timings are the best of ``--repeat``
cold runs (no result cache); pdfplumber's default runs one document after another, as a caller would; ours
pre-scans pages with pypdfium2, skips pages without tabular text and spreads documents over processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pdfplumber  # noqa: E402

from sources.reports import pdf_tables  # noqa: E402
from sources.reports.accuracy import load_truth, score  # noqa: E402


def _passwords(corpus: Path) -> dict[str, str]:
    path = corpus / "passwords.toml"
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _cpu() -> float:
    """CPU seconds used by this process and its finished children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_default(paths: list[Path], passwords: dict[str, str]) -> tuple[float, float, dict[str, dict[int, list]], int]:
    """pdfplumber's default: every page, ``page.extract_tables()``."""
    out: dict[str, dict[int, list]] = {}
    pages = 0
    cpu = _cpu()
    start = time.perf_counter()
    for path in paths:
        tables: dict[int, list] = {}
        try:
            with pdfplumber.open(path, password=passwords.get(path.name)) as pdf:
                for number, page in enumerate(pdf.pages, start=1):
                    tables[number] = page.extract_tables()
                    pages += 1
                    page.close()
        except Exception as err:  # noqa: BLE001 - a document the default cannot read scores nothing
            tables = {"error": repr(err)}  # type: ignore[dict-item]
        out[path.name] = tables
    return time.perf_counter() - start, _cpu() - cpu, out, pages


def run_ours(paths: list[Path], passwords: dict[str, str], workers: int | None) -> tuple[float, float, dict]:
    cpu = _cpu()
    start = time.perf_counter()
    results = pdf_tables.extract_documents(paths, passwords, workers=workers)
    return time.perf_counter() - start, _cpu() - cpu, {Path(k).name: v for k, v in results.items()}


def _our_grids(tables, page: int) -> list[list[list[str]]]:
    grids = []
    if isinstance(tables, str):
        return grids
    for t in tables:
        cells = [c for c in t.cells if c.page == page]
        if not cells:
            continue
        rows = sorted({c.row for c in cells})
        cols = 1 + max(c.col for c in cells)
        index = {r: i for i, r in enumerate(rows)}
        grid = [["" for _ in range(cols)] for _ in rows]
        for c in cells:
            grid[index[c.row]][c.col] = c.text
        grids.append(grid)
    return grids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "tests" / "fixtures" / "reports" / "pdfs")
    parser.add_argument("--truth", type=Path, default=REPO / "tests" / "fixtures" / "reports" / "truth")
    parser.add_argument("--workers", type=int, default=None, help="processes for ours (default: CPU count)")
    parser.add_argument("--repeat", type=int, default=1, help="best of N timings for each extractor")
    args = parser.parse_args(argv)

    paths = sorted(args.corpus.glob("*.pdf"))
    passwords = _passwords(args.corpus)
    truth = load_truth(args.truth)
    workers = args.workers or os.cpu_count() or 1

    default_time = ours_time = default_cpu = ours_cpu = float("inf")
    for _ in range(max(1, args.repeat)):
        t, c, default_out, pages = run_default(paths, passwords)
        default_time, default_cpu = min(default_time, t), min(default_cpu, c)
        t, c, ours_out = run_ours(paths, passwords, workers)
        ours_time, ours_cpu = min(ours_time, t), min(ours_cpu, c)
    load = os.getloadavg()[0]

    print(f"corpus: {len(paths)} PDFs, {pages} pages; ours with {workers} process(es); best of {max(1, args.repeat)}; "
          f"load average {load:.1f} on {os.cpu_count()} CPU(s)")
    print()
    print(f"{'measure':44s} {'pdfplumber default':>19s} {'ours':>10s} {'ratio':>7s}")
    print("-" * 84)
    dps, ops = pages / default_time, pages / ours_time
    print(f"{'pages per second (whole corpus)':44s} {dps:19.1f} {ops:10.1f} {ops / dps:6.2f}x")
    print(f"{'seconds (whole corpus)':44s} {default_time:19.2f} {ours_time:10.2f}")
    dcp, ocp = pages / default_cpu, pages / ours_cpu
    print(f"{'pages per CPU-second (all processes)':44s} {dcp:19.1f} {ocp:10.1f} {ocp / dcp:6.2f}x")
    worse = []
    total_cells = hits_default = hits_ours = 0
    for t in truth:
        d_tables = default_out.get(t.file, {})
        d_grids = d_tables.get(t.page, []) if isinstance(d_tables, dict) else []
        d = score(t.rows, d_grids)
        o = score(t.rows, _our_grids(ours_out.get(t.file, []), t.page))
        total_cells += t.cells
        hits_default += round(d * t.cells)
        hits_ours += round(o * t.cells)
        ratio = f"{o / d:6.2f}x" if d else "   inf"
        print(f"{'accuracy ' + t.id + f' ({t.cells} cells)':44s} {d:19.1%} {o:10.1%} {ratio}")
        if o < d or (o == d and o < 1.0):
            worse.append(t.id)  # equal is accepted only where both are perfect
    d_all, o_all = hits_default / total_cells, hits_ours / total_cells
    print(f"{'accuracy, all truth cells (' + str(total_cells) + ')':44s} {d_all:19.1%} {o_all:10.1%} {o_all / d_all if d_all else float('inf'):6.2f}x")
    failures = [name for name, out in ours_out.items() if isinstance(out, str)]
    for name in failures:
        print(f"note: ours could not read {name}: {ours_out[name]}")
    print()
    ok = not worse and ops >= 2 * dps
    print("targets: accuracy above the default on every truth table (or both perfect), >= 2x its pages/second: "
          + ("met" if ok else f"NOT met (not above default: {worse or 'none'}; speed {ops / dps:.2f}x)"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
