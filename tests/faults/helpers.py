"""Running the real `memorygraph` command in a child process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m memorygraph ARGS` with a clean MEMORY_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "memorygraph", *map(str, args)],
        capture_output=True,
        text=True,
        env=base,
        timeout=timeout,
    )
