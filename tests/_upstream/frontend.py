"""The graph library the browser pages draw with (npm `cytoscape`), installed once.

Its version is pinned by `frontend/package.json` and its `package-lock.json`; `npm
ci` installs exactly that into `.upstream/frontend-VERSION` (git-ignored), and its
one built file is copied into the package's `static/vendor/` (git-ignored too),
from where the pages load it. `make setup` runs this module; the browser tests'
fixture calls `ensure_installed` as well.

    python -m tests._upstream.frontend
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Final

from memorygraph.ui.assets import GRAPH_LIBRARY
from tests._upstream import npm
from tests._upstream.npm import ROOT

PINS: Final = ROOT / "frontend"
PACKAGE: Final = "cytoscape"
VERSION: Final[str] = json.loads((PINS / "package.json").read_text())["dependencies"][PACKAGE]
CACHE: Final = ROOT / ".upstream" / f"frontend-{VERSION}"


def built_file(cache: Path = CACHE) -> Path:
    """cytoscape's minified build inside `cache`."""
    return cache / "node_modules" / PACKAGE / "dist" / "cytoscape.min.js"


def ensure_installed(cache: Path = CACHE, into: Path = GRAPH_LIBRARY) -> tuple[Path, float]:
    """The graph library's file in the package, and the seconds spent installing it
    with npm (0 when it was installed already)."""
    seconds = npm.ensure_installed(PINS, cache, built_file(cache), f"{PACKAGE}@{VERSION}")
    source = built_file(cache)
    if not into.is_file() or into.read_bytes() != source.read_bytes():
        into.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, into)
    return into, seconds


if __name__ == "__main__":
    missing = npm.missing_tools()
    if missing:
        # Everything but the graph view works without it; `memorygraph ui` says so.
        print(
            f"{' and '.join(missing)} not found: the browser pages' graph library is not installed"
        )
    else:
        path, took = ensure_installed()
        print(f"{PACKAGE}@{VERSION} at {path}" + (f" (installed in {took:.1f}s)" if took else ""))
