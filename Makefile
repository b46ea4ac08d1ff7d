# The two quick-start commands: `make demo` and `make test`. Both set up
# everything they need (a virtualenv in .venv, the browser pages' graph library
# from npm, and for tests the Neo4j jars from Maven Central) on a fresh machine
# with Python 3.11, Node.js with npm, Java 17 and Maven. The browser tests also
# need Debian's chromium and chromium-driver (.ci/run installs them).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The graph library the browser pages load, pinned by frontend/ (npm ci, then copied).
UI_ASSETS := src/memorygraph/ui/static/vendor/cytoscape.min.js

.PHONY: setup demo test test-quick lint typecheck pytest neo4j-classpath bench docs clean

setup: $(STAMP) $(UI_ASSETS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(UI_ASSETS): $(STAMP) frontend/package.json frontend/package-lock.json
	$(BIN)/python -m tests._upstream.frontend

demo: setup
	$(BIN)/memorygraph demo

neo4j-classpath:
	tools/neo4j/build-classpath.sh

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/python tools/cli_reference.py --check docs/CLI.md

# Rewrite the command reference in docs/CLI.md from the commands' own help.
docs: setup
	$(BIN)/python tools/cli_reference.py --write docs/CLI.md

typecheck: setup
	$(BIN)/mypy

pytest: setup neo4j-classpath
	$(BIN)/pytest

test: lint typecheck pytest

# The edit-test loop, on four processes (they mostly wait on subprocesses): no database server, none of the slow
# tests (tests/conftest.py lists what --quick leaves out and why). `make test`
# stays the whole suite.
test-quick: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/pytest -q --quick -n 4

bench: setup
	$(BIN)/python benchmarks/backend_writes.py
	$(BIN)/python benchmarks/exchange_rss.py
	$(BIN)/python benchmarks/migration.py
	$(BIN)/python benchmarks/mcp_latency.py
	$(BIN)/python benchmarks/ui_latency.py

clean:
	rm -rf $(VENV) .demo .upstream .pytest_cache .mypy_cache .ruff_cache frontend/node_modules \
		src/memorygraph/ui/static/vendor
