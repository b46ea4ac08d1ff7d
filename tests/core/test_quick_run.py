"""`--quick` (make test-quick) leaves out what takes long by design and keeps the rest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _collected(*args: str) -> tuple[list[str], str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    return ids, done.stdout


def test_a_quick_run_deselects_the_slow_tests_and_keeps_the_others() -> None:
    files = ["tests/faults/test_disk_full.py", "tests/backends/test_sqlite.py"]
    everything, _ = _collected(*files)
    quick, said = _collected("--quick", *files)
    assert any(i.startswith("tests/faults/") for i in everything)
    assert any("round_trips_exactly" in i for i in everything)
    assert not any(i.startswith("tests/faults/") for i in quick)
    assert not any("round_trips_exactly" in i for i in quick)
    assert quick and set(quick) < set(everything)
    assert f"{len(everything) - len(quick)} deselected" in said
