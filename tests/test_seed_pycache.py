"""tests/seed_pycache.py: what the installers compiled lands where PYTHONPYCACHEPREFIX looks, and only that."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.seed_pycache import TAG, seed


def _compiled(folder: Path, name: str, content: bytes) -> Path:
    (folder / "__pycache__").mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text("x = 1\n")
    path = folder / "__pycache__" / f"{name}{TAG}"
    path.write_bytes(content)
    return path


def test_each_compiled_module_is_copied_to_the_prefix_s_mirror_of_its_folder(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    stdlib, packages, prefix = tmp_path / "lib", tmp_path / "site", tmp_path / "cache"
    _compiled(stdlib / "json", "decoder", b"stdlib")
    _compiled(packages / "httpx", "_client", b"package")
    _compiled(stdlib / "test", "test_json", b"skipped")  # the standard library's own tests
    _compiled(stdlib / "site-packages" / "pip", "main", b"skipped")  # the installation's own packages
    (packages / "httpx" / "__pycache__" / f"_client{TAG.replace('.pyc', '.opt-1.pyc')}").write_bytes(b"optimised")
    assert seed(prefix, stdlib={stdlib}, packages={packages}) == 2
    copied = [p for p in prefix.rglob("*") if p.is_file()]
    assert sorted(p.name for p in copied) == sorted([f"_client{TAG}", f"decoder{TAG}"])
    # exactly where the interpreter looks for them under that prefix
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    for source, content in ((stdlib / "json" / "decoder.py", b"stdlib"),
                            (packages / "httpx" / "_client.py", b"package")):
        assert Path(importlib.util.cache_from_source(str(source))).read_bytes() == content
    # a second seeding copies nothing, and keeps what the cache holds
    assert seed(prefix, stdlib={stdlib}, packages={packages}) == 0
