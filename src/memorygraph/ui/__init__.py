"""A browser page over a store: search, a memory, its graph, recent activity,
statistics and the migrations, served by a Starlette app.

The app is an adapter like the CLI and the MCP server: its JSON API (`api`) parses
the request, calls `memorygraph.ops` for the request's principal and returns the
operations' own models; the pages (`static/`) are plain HTML, CSS and one script
that put every value into the page as text, under a Content-Security-Policy that
allows no inline script. The ui command serves it alone on loopback; the team's
HTTP server mounts it at /ui behind its tokens (`session`).
"""

from memorygraph.ui.app import UiSettings, build_ui_app
from memorygraph.ui.assets import missing_assets

__all__ = ["UiSettings", "build_ui_app", "missing_assets"]
