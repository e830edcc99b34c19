"""The fake's OpenAPI document, kept in the package (`openapi.json`) rather than built by each process.

Building it means building all 125 routes and their pydantic schemas: about a second of CPU, paid by
every server asked for `/openapi.json` and by every contract run (its reference for drift, and the
in-process target's own document), some fifty times in `make test`. The document depends on the
routes and models alone, so it is built once, here, and a test checks that the packaged copy is
what the code builds (`tests/test_openapi.py`). After a change to a route or a model:

    python -m fake_dimail.openapi_document --write
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("openapi.json")


def build() -> dict[str, Any]:
    """The document the code builds (every route built on the way)."""
    from fastapi import FastAPI

    from .app import create_app

    return FastAPI.openapi(create_app())


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


@functools.cache
def _text() -> str:
    return PATH.read_text(encoding="utf-8")


def document() -> dict[str, Any]:
    """The packaged document: a copy of its own for each caller (json parses it in a few milliseconds)."""
    return json.loads(_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fake_dimail.openapi_document",
                                     description="Check or write the fake's packaged OpenAPI document.")
    parser.add_argument("--write", action="store_true", help=f"write {PATH.name} from the code")
    args = parser.parse_args(argv)
    built = render(build())
    if args.write:
        changed = not PATH.exists() or PATH.read_text(encoding="utf-8") != built
        PATH.write_text(built, encoding="utf-8")
        print(f"{PATH}: {'updated' if changed else 'already up to date'}")
        return 0
    if PATH.read_text(encoding="utf-8") != built:
        print(f"{PATH} is not what the code builds: run python -m fake_dimail.openapi_document --write",
              file=sys.stderr)
        return 1
    print(f"{PATH}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
