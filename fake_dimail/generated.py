"""Generated sections of the documentation: a table between two markers, rewritten from the code.

`provisioner.sequence` (the permission sequence) and `fake_dimail.people_status` (People's
statuses) keep their tables this way; a test compares each copy with the code's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def section(text: str, begin: str, end: str) -> str | None:
    """The text between the markers, without the blank lines around it (None without the markers)."""
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def write(path: Path, begin: str, end: str, content: str) -> bool:
    """Replace what `path` holds between the markers with `content`; True when it changed."""
    text = path.read_text(encoding="utf-8")
    if section(text, begin, end) is None:
        raise SystemExit(f"{path}: markers {begin!r} … {end!r} not found")
    head, rest = text.split(begin, 1)
    new = f"{head}{begin}\n{content}{end}{rest.split(end, 1)[1]}"
    path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None, prog: str, description: str, metavar: str, begin: str, end: str,
         table: Callable[[], str]) -> int:
    """The command of a generated table: print it, or `--write FILE` it between the markers."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--write", metavar=metavar, type=Path, help="replace the table between the markers")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(table())
        return 0
    print(f"{args.write}: {'updated' if write(args.write, begin, end, table()) else 'already up to date'}")
    return 0
