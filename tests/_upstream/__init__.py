"""The memorygraph MCP server 0.12.4 ("upstream"), installed as its users install it.

`venv.py` creates its virtualenv once (cached in `.upstream/` at the repository
root, which a fresh clone does not have, so CI builds it from PyPI);
`driver.py` runs inside that virtualenv and uses upstream's own Python API to
write its SQLite database and JSON export, and to import JSON exports.
"""
