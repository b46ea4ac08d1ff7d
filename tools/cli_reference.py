"""Keep the command reference in docs/CLI.md in step with the commands' own help.

The reference section of docs/CLI.md sits between two marker lines and is made
from `memorygraph COMMAND --help` for every command. `--check` (run by `make
test`) fails when the section differs from what the help says now; `--write`
rewrites it.

    python tools/cli_reference.py --check docs/CLI.md
    python tools/cli_reference.py --write docs/CLI.md
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import click

from memorygraph.cli.main import cli

BEGIN = "<!-- BEGIN COMMAND REFERENCE: made by tools/cli_reference.py, do not edit -->"
END = "<!-- END COMMAND REFERENCE -->"


def _help(command: click.Command, path: str) -> str:
    with click.Context(command, info_name=path, terminal_width=100, max_content_width=100) as ctx:
        return command.get_help(ctx)


def reference() -> str:
    """The reference section: the group's help, then each command's, in name order."""
    parts = [
        "## Command reference",
        "",
        "### memorygraph",
        "",
        "```",
        _help(cli, "memorygraph"),
        "```",
    ]
    assert isinstance(cli, click.Group)
    for name in sorted(cli.commands):
        parts += ["", f"### memorygraph {name}", "", "```"]
        parts += [_help(cli.commands[name], f"memorygraph {name}"), "```"]
    return "\n".join(parts)


def rewrite(text: str) -> str:
    """`text` with its reference section made anew (appended when it has none)."""
    section = f"{BEGIN}\n{reference()}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return f"{head}{section}{tail}"
    return f"{text.rstrip()}\n\n{section}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail if the doc is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite the reference section")
    parser.add_argument("doc", type=Path)
    args = parser.parse_args()
    current = args.doc.read_text()
    wanted = rewrite(current)
    if args.write:
        args.doc.write_text(wanted)
        return 0
    if current != wanted:
        diff = difflib.unified_diff(
            current.splitlines(),
            wanted.splitlines(),
            "docs (as written)",
            "help (now)",
            lineterm="",
        )
        print("\n".join(list(diff)[:60]), file=sys.stderr)
        print(
            f"{args.doc} is out of date with the commands' help; run "
            f"`make docs` (python tools/cli_reference.py --write {args.doc})",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
