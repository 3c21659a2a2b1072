"""Functions the offload tests hand to helper processes by name (``"tests.support.helper_work:<function>"``), so the
test process itself never imports this module unless it does the work."""

import os

prepared: list[str] = []


def prepare() -> None:
    prepared.append("ready")


def fail_to_prepare() -> None:
    raise RuntimeError("a preparation that fails")


def state() -> tuple[int, list[str]]:
    """(this process's id, what was prepared in it)."""
    return os.getpid(), list(prepared)
