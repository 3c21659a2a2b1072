"""What a run's process gives back between steps (`pipelines.memory`): measured on this process's own resident memory."""

import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines import memory

pytestmark = pytest.mark.skipif(not Path("/proc/self/statm").exists() or sys.platform != "linux",
                                reason="resident memory read from Linux's /proc")


def _resident_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def test_memory_freed_by_a_step_goes_back_to_the_system():
    before = _resident_mib()
    arrays = [np.ones(12_000) for _ in range(1500)]  # 1,500 buffers of 96 KB: malloc's heap (below its mmap threshold)
    held = _resident_mib() - before
    alive = arrays[::50]  # a few stay alive, scattered, as a step's results do: the heap cannot shrink from its top
    del arrays
    kept = _resident_mib() - before  # freed, but kept by the allocator for reuse
    memory.give_back()
    after = _resident_mib() - before
    assert held > 100 and kept > 0.8 * held, f"{held:.0f} MiB allocated, {kept:.0f} MiB kept when freed"
    assert after < 0.2 * held, f"{held:.0f} MiB allocated, {kept:.0f} MiB kept when freed, {after:.0f} MiB after give_back"
    assert all(a.sum() == 12_000 for a in alive)  # what is alive is untouched


def test_giving_back_twice_or_with_nothing_freed_is_harmless():
    memory.give_back()
    memory.give_back()
