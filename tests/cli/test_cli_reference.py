"""The command reference in docs/CLI.md is the commands' own help, and the check that
`make test` runs catches a doc left behind by a changed flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
TOOL = ROOT / "tools" / "cli_reference.py"
DOC = ROOT / "docs" / "CLI.md"


def _check(doc: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--check", str(doc)], capture_output=True, text=True
    )


def test_the_reference_matches_the_help() -> None:
    result = _check(DOC)
    assert result.returncode == 0, result.stderr


def test_a_flag_whose_help_changed_without_the_doc_fails_the_check(tmp_path: Path) -> None:
    text = DOC.read_text()
    written = "Print JSON for scripts."
    assert written in text.split("BEGIN COMMAND REFERENCE", 1)[1]
    stale = tmp_path / "CLI.md"
    stale.write_text(text.replace(written, "Print JSON.", 1))
    result = _check(stale)
    assert result.returncode == 1
    assert "out of date" in result.stderr and "make docs" in result.stderr
    assert "Print JSON for scripts." in result.stderr  # the diff shows what the help says now
