"""Seed `make test`'s cache of compiled modules with those the installers already compiled.

`make test` points PYTHONPYCACHEPREFIX at a cache under the venv (the Makefile says why). Python then looks for
compiled modules there only, not in the `__pycache__` folders beside the sources, where pip (for site-packages)
and the Python installation (for the standard library) already put them. On a fresh clone, each of the suite's
first processes (the workers, the servers, the contract runs they start together) would compile the same
thousands of modules again. Copied into the cache's mirror of their folders, they are valid as they are: a
compiled module names its source's size and time, not where it lies.

    python tests/seed_pycache.py PREFIX
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

TAG = f".{sys.implementation.cache_tag}.pyc"  # not the optimised (.opt-1, .opt-2) variants


# Under the standard library's folder: the installation's own packages and the standard library's tests, which
# the suite never imports (with them, 17,471 files to copy instead of 4,775).
SKIPPED = frozenset({"site-packages", "test", "idlelib", "tkinter", "lib2to3"})


def seed(prefix: Path, stdlib: set[Path] | None = None, packages: set[Path] | None = None) -> int:
    """Copy every compiled module of the standard library and site-packages (this interpreter's, by default)
    into `prefix`, where PYTHONPYCACHEPREFIX=prefix looks for it; how many were not there yet."""
    paths = sysconfig.get_paths()
    if stdlib is None:
        stdlib = {Path(paths["stdlib"]), Path(paths["platstdlib"])}
    if packages is None:
        packages = {Path(paths["purelib"]), Path(paths["platlib"])}
    copied = 0
    for root in dict.fromkeys([*sorted(stdlib), *sorted(packages)]):
        for compiled in root.rglob(f"__pycache__/*{TAG}"):
            source_dir = compiled.parent.parent
            if root in stdlib and SKIPPED & set(source_dir.relative_to(root).parts):
                continue
            target = prefix / source_dir.relative_to(source_dir.anchor) / compiled.name
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(compiled, target)
            copied += 1
    return copied


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/seed_pycache.py PREFIX")
    print(f"{seed(Path(sys.argv[1]))} compiled modules copied into {sys.argv[1]}")
