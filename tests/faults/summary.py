"""The fault suite's one-line summary: scenarios tried, survived, failed clearly, lost, hung, leaked.

A fault test declares what it is with ``@pytest.mark.scenario(outcome, guards)``:

* ``outcome`` — ``"survives"`` (the observatory carries on: retried, waited its turn, refused an output but kept
  working) or ``"fails_clearly"`` (it stops with a message naming file, step and cause, nothing changed);
* ``guards`` — what a failure of the test would mean: ``"loss"`` (data lost or published file changed), ``"hang"``
  (no answer within the budget) or ``"leak"`` (something left behind or exposed).

A passing scenario counts as survived or failed clearly; a failing one counts as lost, hung or leaked. The
counts travel in ``report.user_properties`` so they add up under pytest-xdist too. Loaded by the root
conftest (``pytest_plugins``); prints nothing when no scenario ran.
"""

from __future__ import annotations

import pytest

OUTCOMES = ("survives", "fails_clearly")
GUARDS = ("loss", "hang", "leak")
_counts = {"tried": 0, "survives": 0, "fails_clearly": 0, "loss": 0, "hang": 0, "leak": 0}


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "scenario(outcome, guards): a fault scenario counted in the fault suite's summary")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("scenario")
    if marker is None or report.when not in ("setup", "call"):
        return
    kind = marker.kwargs.get("outcome", marker.args[0] if marker.args else None)
    guards = marker.kwargs.get("guards", marker.args[1] if len(marker.args) > 1 else None)
    assert kind in OUTCOMES and guards in GUARDS, f"{item.nodeid}: scenario({kind!r}, {guards!r})"
    if report.when == "call" or report.failed or report.skipped:
        report.user_properties.append(("fault_scenario", (kind, guards, report.outcome)))


def pytest_runtest_logreport(report) -> None:
    for name, value in report.user_properties:
        if name != "fault_scenario":
            continue
        kind, guards, result = value
        if result == "skipped":
            continue
        _counts["tried"] += 1
        _counts[kind if result == "passed" else guards] += 1


def summary_line() -> str:
    c = _counts
    return (f"fault suite: {c['tried']} scenarios tried, {c['survives']} survived, {c['fails_clearly']} failed clearly, "
            f"{c['loss']} lost, {c['hang']} hung, {c['leak']} leaked")


def pytest_terminal_summary(terminalreporter) -> None:
    if _counts["tried"]:
        terminalreporter.write_line(summary_line())
