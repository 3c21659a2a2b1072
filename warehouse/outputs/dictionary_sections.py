"""Extra sections of the data dictionary, kept in a leaf module so registry modules can add to it.

`warehouse.outputs.dictionary` imports the registry, so a registry module (e.g. `warehouse.engine.registry.health`,
which documents its indicator catalogue) cannot import `warehouse.outputs.dictionary` while the registry is
being collected. Both import this list instead: ``warehouse.outputs.dictionary.EXTRA_SECTIONS`` is the same
object, and appending to either is the same thing.
"""

from __future__ import annotations

from collections.abc import Callable

EXTRA_SECTIONS: list[Callable[[], str]] = []
