"""Extra sections of the data dictionary, kept in a leaf module so registry modules can add to it.

`warehouse.dictionary` imports the registry, so a registry module (e.g. `warehouse.registry.health`,
which documents its indicator catalogue) cannot import `warehouse.dictionary` while the registry is
being collected. Both import this list instead: ``warehouse.dictionary.EXTRA_SECTIONS`` is the same
object, and appending to either is the same thing.
"""

from __future__ import annotations

from collections.abc import Callable

EXTRA_SECTIONS: list[Callable[[], str]] = []
