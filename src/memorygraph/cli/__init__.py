"""The `memorygraph` command line.

`entry()` is the installed command. The commands themselves live one module each,
loaded on demand by `memorygraph.cli.main`.
"""

from __future__ import annotations

import signal
import sys

from memorygraph.cli.startup import collection_paused


def entry() -> None:
    """Run the CLI with the process's arguments and exit with its code."""
    # A Ctrl-C that lands while pydantic compiles the record validators' patterns is
    # swallowed there ("Exception ignored") and leaves a validator that refuses every
    # record, so the signal is held until loading is done and delivered right after.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with collection_paused():
            from memorygraph.cli.main import main
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    except KeyboardInterrupt:
        # Ctrl-C while the CLI was still loading: nothing has run yet.
        sys.stderr.write("error: interrupted before anything ran\n")
        sys.exit(130)
    sys.exit(main())
