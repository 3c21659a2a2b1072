"""What a load depends on, found automatically: the change fingerprint that lets a refresh skip unchanged tables.

A load's fingerprint is the SHA-256 of

* the SHA-256 of every input file it reads,
* the registry declaration of every table it writes (and the query of each it stores as a view),
* the last-load fingerprints of the warehouse tables it reads (so a change upstream re-runs it),
* the source code of every parser and transform module its ``build`` function reaches: the modules the
  function (and the asset module defining it) refer to, followed through their imports, within the project's
  ``sources`` and ``warehouse.transforms`` packages,
* the text of every ``.sql`` file those modules name, and of every configuration file (``.toml``, ``.json``)
  they hold a path to,
* today's date, when one of those modules reads the calendar (``today()``), since the result then depends on it.

Nothing has to be listed by hand, so a new parser, SQL file or catalogue entry can never be left out.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import CodeType, FunctionType, ModuleType

from sources.landing import LandedFile
from warehouse.engine.paths import REPO_ROOT
from warehouse.engine.queries import sql_path, sql_stems
from warehouse.engine.registry import REGISTRY

# Packages whose code shapes the data: parsers (sources) and transforms. The engine and pipelines are plumbing.
DATA_PACKAGES = ("sources", "warehouse.transforms")
CONFIG_SUFFIXES = (".toml", ".json")
_STRING = re.compile(r"""["']([A-Za-z0-9_]+)["']""")
_CALENDAR = re.compile(r"\btoday\(\)")


def _in_data_packages(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in DATA_PACKAGES)


def _module_of(value) -> str | None:
    if isinstance(value, ModuleType):
        return value.__name__
    return getattr(value, "__module__", None) if callable(value) or inspect.isclass(value) else None


def _code_names(code: CodeType) -> set[str]:
    names = set(code.co_names) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _code_names(const)
    return names


def _roots(build: Callable) -> set[str]:
    """The modules ``build`` refers to, and the module defining it."""
    func = inspect.unwrap(build)
    roots = {func.__module__} if getattr(func, "__module__", None) else set()
    if isinstance(func, FunctionType):
        scope = dict(func.__globals__)
        for cell_name, cell in zip(func.__code__.co_freevars, func.__closure__ or ()):
            try:
                scope[cell_name] = cell.cell_contents
            except ValueError:
                continue
        for name in _code_names(func.__code__):
            module = _module_of(scope.get(name))
            if module:
                roots.add(module)
    return roots


@functools.cache
def _imports(module_name: str) -> frozenset[str]:
    """Project data modules that ``module_name`` refers to at module level."""
    module = sys.modules.get(module_name)
    if module is None:
        return frozenset()
    found = set()
    for value in vars(module).values():
        name = _module_of(value)
        if name and _in_data_packages(name) and name != module_name:
            found.add(name)
    return frozenset(found)


def code_closure(build: Callable) -> list[str]:
    """Every data module ``build`` reaches (sorted), plus the asset module that defines it."""
    roots = _roots(build)
    seen: set[str] = set()
    todo = [m for m in roots if _in_data_packages(m) or m == getattr(inspect.unwrap(build), "__module__", None)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_imports(name) - seen)
    return sorted(seen)


@functools.cache
def _module_digest(module_name: str) -> tuple[str, tuple[str, ...], tuple[str, ...], bool]:
    """(digest of the module's source, SQL files it names, config files it points to, whether it reads the calendar)."""
    module = sys.modules[module_name]
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = ""
    sql = tuple(sorted({m for m in _STRING.findall(source) if m in sql_stems()}))
    configs = set()
    for value in vars(module).values():
        if isinstance(value, Path) and value.suffix in CONFIG_SUFFIXES and value.is_file():
            configs.add(str(value))
        elif isinstance(value, Path) and value.is_dir() and REPO_ROOT in value.parents:
            configs.update(str(p) for p in value.rglob("*") if p.suffix in CONFIG_SUFFIXES and p.is_file())
    return hashlib.sha256(source.encode()).hexdigest(), sql, tuple(sorted(configs)), bool(_CALENDAR.search(source))


def fingerprint(inputs: Iterable[LandedFile], table_names: Iterable[str], build: Callable, upstream: str = "") -> str:
    """The change fingerprint of a load (see the module docstring)."""
    digest = hashlib.sha256(upstream.encode())
    for landed in sorted(inputs, key=lambda i: i.sha256):
        digest.update(landed.sha256.encode())
    sql_files, config_files, calendar = set(), set(), False
    for name in sorted(table_names):
        digest.update(repr(REGISTRY[name]).encode())
        if REGISTRY[name].view_of:
            sql_files.add(name)
    for module_name in code_closure(build):
        source_digest, sql, configs, reads_calendar = _module_digest(module_name)
        digest.update(f"{module_name}:{source_digest}".encode())
        sql_files.update(sql)
        config_files.update(configs)
        calendar = calendar or reads_calendar
    for name in sorted(sql_files):
        digest.update(sql_path(name).read_bytes())
    for path in sorted(config_files):
        digest.update(Path(path).read_bytes())
    if calendar:
        digest.update(dt.date.today().isoformat().encode())
    return digest.hexdigest()
