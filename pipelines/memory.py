"""Memory a run's process gives back to the system between its steps.

A refresh runs its steps one after another in one long-lived process (and its helpers, :mod:`pipelines.offload`).
Each step makes frames of up to a few hundred MB and drops them when it ends, but the allocators behind them keep
what was freed for reuse instead of returning it: glibc's ``malloc`` (numpy and pandas buffers) and Arrow's memory
pool (frames handed to and read from DuckDB). Measured in a cold build, at the start of its largest step: 664 MiB
resident, of which Arrow's pool held 78 MiB and ``malloc`` 103 MiB, free. Kept, each step's garbage sits under the
next step's working set and the run's peak is their sum; given back, the peak is nearer the largest step's own
(the build's peak, its helpers included, went from 0.88-1.03 GiB to 0.80-0.82 GiB, benchmarks/README.md).
DuckDB's allocator gives its freed pages back by itself (``pipelines/__init__.py`` sets its jemalloc so).

:func:`give_back` returns what Arrow's pool and ``malloc`` hold free (a few milliseconds); the table steps call it
when they end (:func:`pipelines.assets._factory.table_asset`). The helpers do not: giving back after each piece of
their work left their peak where it was (0.305-0.310 GiB against 0.310-0.313 GiB, three builds each).
"""

import ctypes
import ctypes.util
import functools
import sys


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library is not glibc (macOS, musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def give_back() -> None:
    """Return to the system the memory Arrow's pool and ``malloc`` hold free (nothing else changes)."""
    if "pyarrow" in sys.modules:  # only when a step used it: importing Arrow costs more than it frees
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
