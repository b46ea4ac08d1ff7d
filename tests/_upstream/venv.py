"""Install upstream memorygraphMCP in its own virtualenv, once, and run its Python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

UPSTREAM_VERSION: Final = "0.12.4"
#: With the extras its FalkorDB and Neo4j backends need, as their users install it.
REQUIREMENTS: Final = (f"memorygraphMCP[falkordb,neo4j]=={UPSTREAM_VERSION}", "mcp<2")
ROOT: Final = Path(__file__).resolve().parents[2]
CACHE: Final = ROOT / ".upstream" / f"memorygraphMCP-{UPSTREAM_VERSION}"
DRIVER: Final = Path(__file__).with_name("driver.py")
_STAMP: Final = ".installed"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(cache: Path = CACHE) -> tuple[Path, float]:
    """The upstream interpreter, and the seconds spent installing it (0 when cached)."""
    stamp = cache / _STAMP
    wanted = f"{' '.join(REQUIREMENTS)}\n"
    if stamp.exists() and stamp.read_text() == wanted and _python(cache).exists():
        return _python(cache), 0.0
    started = time.monotonic()
    if cache.exists():
        shutil.rmtree(cache)  # a half-made virtualenv from an interrupted run
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Users install it on their own Python 3.11; the one running the tests is one.
    subprocess.run([sys.executable, "-m", "venv", str(cache)], check=True)
    subprocess.run(
        [str(_python(cache)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *REQUIREMENTS],
        check=True,
    )  # fmt: skip
    stamp.write_text(wanted)
    return _python(cache), time.monotonic() - started


class Upstream:
    """Runs `driver.py` commands in upstream's virtualenv."""

    def __init__(self, python: Path, install_seconds: float) -> None:
        self.python = python
        self.install_seconds = install_seconds

    def run(self, command: str, *args: str | Path, stdin: Any = None) -> Any:
        """Run a driver command; its JSON answer, or AssertionError with upstream's stderr."""
        # Upstream's defaults, as a user who set nothing has them; and its own package, not
        # this checkout's, under the name they share.
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("MEMORY") and k != "PYTHONPATH"
        }
        done = subprocess.run(
            [str(self.python), str(DRIVER), command, *map(str, args)],
            input=json.dumps(stdin) if stdin is not None else None,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"upstream {command} failed:\n{done.stderr[-4000:]}")
        return json.loads(done.stdout) if done.stdout.strip() else None
