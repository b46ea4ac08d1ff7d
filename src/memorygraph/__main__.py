"""`python -m memorygraph …` runs the CLI."""

from memorygraph.cli.main import entry

entry()
