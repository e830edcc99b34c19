"""The constants hypothesis mixes into what it draws, pinned to fake-dimail's own code.

Hypothesis draws about one value in twenty from a pool of constants it collects from the source of the
"local" modules in `sys.modules` (every module outside site-packages and the standard library). That pool
depends on how pytest was started: the `pytest` console script is a local `__main__` (`python -m pytest`'s
is pytest's own), and so is the script that calls `pytest.main()`; a user's `conftest.py` and whatever
other tests imported before are in it too, and an installed (not editable) fake-dimail is not. One string
more or less moves every later pick from the pool, so the "same examples every run" were the same only
for the same command line: the stateful family met 17 scenarios and read 160 writes back under
`python -m pytest`, 18 and 89 under `pytest`.

While a contract runs, the pool is the constants of fake-dimail's three packages (`fake_dimail`,
`provisioner`, `contracts`: every module, imported or not, wherever installed), collected once per
process; hypothesis' own collection is put back afterwards, for the rest of the user's run.
"""

from __future__ import annotations

import importlib.util
import types
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

PACKAGES = ("fake_dimail", "provisioner", "contracts")


def _is_test_file(path: Path) -> bool:
    """Hypothesis leaves test modules out of its pool (`constants_ast.is_local_module_file`): so do we."""
    return bool({"test", "tests"} & set(path.parts)) or path.stem.startswith("test_") or path.stem.endswith("_test")


def source_files() -> list[Path]:
    """The modules whose constants make the pool, in a fixed order."""
    files: list[Path] = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            root = Path(location)
            files += sorted((path for path in root.rglob("*.py") if not _is_test_file(path.relative_to(root))),
                            key=lambda path: path.relative_to(root).as_posix())
    return files


@cache
def pool() -> Any:
    """The constants of `source_files()`, as hypothesis keeps its own local ones (sorted sets)."""
    from hypothesis.internal.constants_ast import Constants, constants_from_module
    from hypothesis.internal.floats import float_to_int
    from sortedcontainers import SortedSet

    found = Constants(integers=SortedSet(), floats=SortedSet(key=float_to_int), bytes=SortedSet(),
                      strings=SortedSet())
    for path in source_files():
        module = types.ModuleType(f"_dimail_constants_{path.stem}")  # read, never executed
        module.__file__ = str(path)
        found |= constants_from_module(module)
    return found


_VIEWS: dict[Any, Any] = {}  # the filtered views of `pool()` hypothesis made in earlier contracts


@contextmanager
def pinned() -> Iterator[None]:
    """Hypothesis draws its constants from `pool()` inside this block, whatever the process has imported."""
    from hypothesis.internal.conjecture import providers

    collect = getattr(providers, "_get_local_constants", None)
    cache_ = getattr(providers, "CONSTANTS_CACHE", None)
    if collect is None or cache_ is None:  # another hypothesis: its own pool, as before
        yield
        return
    # Hypothesis keeps, per kind of draw, the constants of the pool that kind admits; made by testing each
    # constant, they cost a contract 5 ms a kind. Ours are kept from one contract to the next (the same pool,
    # the same views), and hypothesis' own are put back as they were.
    theirs = cache_.cache.copy()
    cache_.cache.clear()
    cache_.cache.update(_VIEWS)
    providers._get_local_constants = pool  # made at hypothesis' first draw: a contract without one costs nothing
    try:
        yield
    finally:
        providers._get_local_constants = collect
        _VIEWS.clear()
        _VIEWS.update(cache_.cache)
        cache_.cache.clear()
        cache_.cache.update(theirs)
