"""The reference MCP memory server (npm `@modelcontextprotocol/server-memory`), installed once.

The version and every dependency are pinned by `server_memory/package.json` and
its `package-lock.json`; `npm ci` installs exactly those into
`.upstream/server-memory-VERSION` (git-ignored), again whenever the pins change.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Final

from mcp import StdioServerParameters

from tests._upstream import npm
from tests._upstream.npm import ROOT, missing_tools

__all__ = ["PACKAGE", "VERSION", "ensure_installed", "missing_tools", "server_params"]

PINS: Final = Path(__file__).with_name("server_memory")
PACKAGE: Final = "@modelcontextprotocol/server-memory"
VERSION: Final[str] = json.loads((PINS / "package.json").read_text())["dependencies"][PACKAGE]
CACHE: Final = ROOT / ".upstream" / f"server-memory-{VERSION}"


def entry_point(cache: Path = CACHE) -> Path:
    """The server's script inside `cache`."""
    return cache / "node_modules" / PACKAGE / "dist" / "index.js"


def ensure_installed(cache: Path = CACHE) -> tuple[Path, float]:
    """The server's script, and the seconds spent installing it (0 when already installed)."""
    seconds = npm.ensure_installed(PINS, cache, entry_point(cache), f"{PACKAGE}@{VERSION}")
    return entry_point(cache), seconds


def server_params(script: Path, memory_file: Path) -> StdioServerParameters:
    """The server as an MCP client starts it, keeping its graph in `memory_file`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    environment["MEMORY_FILE_PATH"] = str(memory_file)
    node = shutil.which("node") or "node"
    return StdioServerParameters(command=node, args=[str(script)], env=environment)
