"""One idea per module: a module of the package past about 500 lines says, in its
docstring, why it must be that long."""

from __future__ import annotations

import ast
from pathlib import Path

import memorygraph

PACKAGE = Path(memorygraph.__file__).parent
#: "About 500": a module a few lines over is not yet two ideas.
LIMIT = 520


def long_modules_without_reason(root: Path, limit: int = LIMIT) -> list[str]:
    """The modules under `root` longer than `limit` lines whose docstring does not
    speak of their length (the word "lines" with a reason around it)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") <= limit:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if " lines" not in doc or "because" not in doc:
            found.append(f"{path.relative_to(root).as_posix()} ({text.count(chr(10))} lines)")
    return found


def test_a_long_module_without_a_reason_is_found(tmp_path: Path) -> None:
    body = "x = 1\n" * 30
    (tmp_path / "long.py").write_text('"""Things."""\n' + body)
    (tmp_path / "explained.py").write_text(
        '"""Things. It is 31 lines because they are one idea."""\n' + body
    )
    (tmp_path / "short.py").write_text('"""Things."""\nx = 1\n')
    assert long_modules_without_reason(tmp_path, limit=20) == ["long.py (31 lines)"]


def test_every_long_module_says_why() -> None:
    assert not long_modules_without_reason(PACKAGE)
