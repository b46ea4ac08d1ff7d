"""The MCP inspector's command line (npm `@modelcontextprotocol/inspector`), installed once.

The version and every dependency are pinned by `inspector/package.json` and its
`package-lock.json`; `npm ci` installs exactly those into
`.upstream/inspector-VERSION` (git-ignored). The pinned release declares Node 22
but its command line runs on Node 20.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

from tests._upstream import npm
from tests._upstream.npm import ROOT

PINS: Final = Path(__file__).with_name("inspector")
PACKAGE: Final = "@modelcontextprotocol/inspector"
VERSION: Final[str] = json.loads((PINS / "package.json").read_text())["dependencies"][PACKAGE]
CACHE: Final = ROOT / ".upstream" / f"inspector-{VERSION}"


def entry_point(cache: Path = CACHE) -> Path:
    """The inspector's launcher script inside `cache`."""
    return cache / "node_modules" / PACKAGE / "clients" / "launcher" / "build" / "index.js"


def ensure_installed(cache: Path = CACHE) -> tuple[Path, float]:
    """The launcher script, and the seconds spent installing it (0 when already installed)."""
    seconds = npm.ensure_installed(PINS, cache, entry_point(cache), f"{PACKAGE}@{VERSION}")
    return entry_point(cache), seconds


def run_cli(
    script: Path, url: str, *args: str, token: str | None, catalog: Path
) -> subprocess.CompletedProcess[str]:
    """`inspector --cli URL --transport http [--header "Authorization: Bearer TOKEN"] ARGS`,
    keeping the inspector's catalog in `catalog` rather than the home directory."""
    header = ["--header", f"Authorization: Bearer {token}"] if token is not None else []
    return subprocess.run(
        [
            shutil.which("node") or "node",
            str(script),
            "--cli",
            url,
            "--transport",
            "http",
            *header,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(catalog.parent),
            "MCP_CATALOG_PATH": str(catalog),
        },
    )
