"""The reference MCP memory server (npm `@modelcontextprotocol/server-memory`), installed once.

The version and every dependency are pinned by `server_memory/package.json` and
its `package-lock.json`; `npm ci` installs exactly those into
`.upstream/server-memory-VERSION` (git-ignored), again whenever the pins change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Final

from mcp import StdioServerParameters

PINS: Final = Path(__file__).with_name("server_memory")
PACKAGE: Final = "@modelcontextprotocol/server-memory"
VERSION: Final[str] = json.loads((PINS / "package.json").read_text())["dependencies"][PACKAGE]
ROOT: Final = Path(__file__).resolve().parents[2]
CACHE: Final = ROOT / ".upstream" / f"server-memory-{VERSION}"
_STAMP: Final = ".installed"
_PINNED_FILES: Final = ("package.json", "package-lock.json")


def missing_tools() -> list[str]:
    """The programs this needs that are not on PATH (node runs the server, npm installs it)."""
    return [tool for tool in ("node", "npm") if shutil.which(tool) is None]


def _pins_digest() -> str:
    digest = hashlib.sha256()
    for name in _PINNED_FILES:
        digest.update((PINS / name).read_bytes())
    return digest.hexdigest()


def entry_point(cache: Path = CACHE) -> Path:
    """The server's script inside `cache`."""
    return cache / "node_modules" / PACKAGE / "dist" / "index.js"


def ensure_installed(cache: Path = CACHE) -> tuple[Path, float]:
    """The server's script, and the seconds spent installing it (0 when already installed)."""
    stamp = cache / _STAMP
    wanted = _pins_digest()
    if stamp.exists() and stamp.read_text() == wanted and entry_point(cache).exists():
        return entry_point(cache), 0.0
    started = time.monotonic()
    if cache.exists():
        shutil.rmtree(cache)  # a half-made install from an interrupted run, or older pins
    cache.mkdir(parents=True)
    for name in _PINNED_FILES:
        shutil.copyfile(PINS / name, cache / name)
    # The package ships its built script: no install scripts need to run.
    done = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm ci of {PACKAGE}@{VERSION} failed:\n{done.stderr[-4000:]}")
    stamp.write_text(wanted)
    return entry_point(cache), time.monotonic() - started


def server_params(script: Path, memory_file: Path) -> StdioServerParameters:
    """The server as an MCP client starts it, keeping its graph in `memory_file`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    environment["MEMORY_FILE_PATH"] = str(memory_file)
    node = shutil.which("node") or "node"
    return StdioServerParameters(command=node, args=[str(script)], env=environment)
