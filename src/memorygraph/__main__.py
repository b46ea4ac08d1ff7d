"""`python -m memorygraph …` runs the CLI."""

import sys

try:
    from memorygraph.cli.main import entry
except KeyboardInterrupt:
    # Ctrl-C while the CLI was still loading: nothing has run yet.
    sys.stderr.write("error: interrupted before anything ran\n")
    sys.exit(130)

entry()
