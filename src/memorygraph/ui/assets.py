"""The files the pages are made of, shipped inside the package.

The graph is drawn by cytoscape.js, pinned by `frontend/package.json` and its
lock in a checkout; `make setup` installs it with `npm ci` and copies its one
built file to `static/vendor/`, so the package serves it itself (no CDN, no Node
at run time, works offline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The pages, their script and style sheet.
STATIC: Final = Path(__file__).with_name("static")
#: The graph library's built file, as the pages load it.
GRAPH_LIBRARY: Final = STATIC / "vendor" / "cytoscape.min.js"


def missing_assets() -> str | None:
    """None when every file the pages load is in place; otherwise what is missing and
    how to install it."""
    if GRAPH_LIBRARY.is_file():
        return None
    return (
        f"the graph library is not installed ({GRAPH_LIBRARY} is missing); in a checkout "
        "run `make setup`, which installs the pinned cytoscape with npm"
    )
