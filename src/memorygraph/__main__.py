"""`python -m memorygraph …` runs the CLI."""

from memorygraph.cli import entry

entry()
