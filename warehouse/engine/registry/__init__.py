"""The metadata registry: every published table and its fields, declared once.

Each module in this package declares ``TABLES`` (a list of :class:`Table`) for one domain; the
package collects them all into :data:`REGISTRY`. From a ``Table`` come the Pandera contract
(`warehouse.engine.contracts`), the DuckDB DDL and comments (`warehouse.engine.ddl`), the Dagster column schema
(`pipelines`) and the data dictionary (`warehouse.outputs.dictionary`). Shared fields (area codes, sex,
provenance) live in `warehouse.engine.registry.fields` so no description is written twice.

To add a table: declare it in the domain's module (or a new module here); nothing else to register.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any

DTYPES = ("text", "integer", "bigint", "double", "date", "timestamp", "boolean")
_LAYER_OF_PREFIX = {"raw": "raw", "core": "core", "mart": "mart"}
_NAME = re.compile(r"^((raw|core|mart)_[a-z0-9]+(__[a-z0-9_]+)?|mart_[a-z0-9]+(_[a-z0-9]+)+(__[a-z0-9_]+)?)$")  # marts may have multi-word topics (mart_area_profile)


@dataclass(frozen=True)
class Field:
    """One column: its type, meaning, unit and the values it may take."""

    name: str
    dtype: str
    description: str
    unit: str | None = None
    nullable: bool = False
    allowed: tuple[Any, ...] | None = None
    ge: float | None = None
    le: float | None = None
    pattern: str | None = None
    unique: bool = False
    unit_from: str | None = None  # the unit is that of the indicator named in this column (see registry.plausibility)

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"field {self.name!r}: dtype {self.dtype!r} is not one of {DTYPES}")

    def but(self, **changes: Any) -> Field:
        """The same field with some attributes changed (e.g. ``AREA_CODE.but(name='parent_code')``)."""
        return dataclasses.replace(self, **changes)

    def constraints_text(self) -> str:
        """The constraints in words, for comments and the data dictionary."""
        from warehouse.engine.registry.plausibility import bounds, describe

        parts = []
        if self.allowed is not None:
            parts.append("one of " + ", ".join(f"`{v}`" for v in self.allowed))
        ge, le = bounds(self)
        if ge is not None:
            parts.append(f">= {ge:g}")
        if le is not None:
            parts.append(f"<= {le:g}")
        if describe(self):
            parts.append(describe(self))
        if self.pattern:
            parts.append(f"matches `{self.pattern}`")
        if self.unique:
            parts.append("unique")
        return "; ".join(parts)


@dataclass(frozen=True)
class Table:
    """One published table: grain, key, fields and the sources it is built from."""

    name: str
    description: str
    grain: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    sources: tuple[str, ...] = ()
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # A view, not a stored table: the rows of the table named here chosen by the query in the SQL file named after
    # this table (``warehouse/transforms/sql/<name>.sql``). Its fields are that table's fields, so that table's
    # contract has checked every value; its key is checked in the database when it is made (`warehouse.engine.loader`).
    view_of: str | None = None
    # A view, not a stored table: the union of the rows of the tables named here, in this order (its query is
    # generated: `warehouse.engine.ddl.view_sql`). Each has every field of this table, declared the same way, so their
    # contracts have checked every value; its key (across them) is checked in the database when it is made.
    union_of: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"table name {self.name!r} must look like raw_<source>__<table>, core_<domain>__<table> or mart_<topic>")
        names = [f.name for f in self.fields]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"table {self.name}: duplicated fields {sorted(dupes)}")
        missing = set(self.primary_key) - set(names)
        if missing:
            raise ValueError(f"table {self.name}: primary key names unknown fields {sorted(missing)}")

    @property
    def is_view(self) -> bool:
        """Stored as a view of other registry tables (``view_of`` or ``union_of``), not as a table."""
        return bool(self.view_of or self.union_of)

    @property
    def layer(self) -> str:
        return _LAYER_OF_PREFIX[self.name.split("_", 1)[0]]

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


def _collect() -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for table in getattr(module, "TABLES", ()):
            if table.name in tables:
                raise ValueError(f"table {table.name} is declared twice (again in {module.__name__})")
            tables[table.name] = table
    check_views(tables)
    return tables


def check_views(tables: dict[str, Table]) -> None:
    """Each table stored as a view selects from stored tables of the registry that have its fields, declared the same
    way (so their contracts have checked every value the view shows): a view of one table (``view_of``) has exactly
    its fields, a union (``union_of``) has fields each of its tables has. ValueError naming the view otherwise."""
    for view in (t for t in tables.values() if t.is_view):
        for name in (view.view_of,) if view.view_of else view.union_of:
            base = tables.get(name)
            if base is None or base.is_view:
                raise ValueError(f"view {view.name}: {name!r} is not a registered stored table")
            if view.view_of and view.fields != base.fields:
                raise ValueError(f"view {view.name}: its fields must be those of {base.name}, whose contract checks its values")
            declared = {f.name: f for f in base.fields}
            if view.union_of and any(declared.get(f.name) != f for f in view.fields):
                raise ValueError(f"view {view.name}: each of its fields must be a field of {base.name}, declared the same, "
                                 "whose contract checks its values")


REGISTRY: dict[str, Table] = _collect()


def table(name: str) -> Table:
    """The registered table called ``name`` (KeyError with the known names otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in the registry; known: {', '.join(sorted(REGISTRY))}") from None
