"""`memorygraph token`: the static bearer tokens of the HTTP server."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from memorygraph.cli.common import console, emit_json
from memorygraph.principal import SCOPES
from memorygraph.tokens import TokenFile

tokens_option = click.option(
    "--tokens",
    "tokens_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    envvar="MEMORY_TOKENS_FILE",
    help="The token file (created owner-only; holds only hashes; env MEMORY_TOKENS_FILE).",
)


@click.group()
def token() -> None:
    """Create, list and revoke the bearer tokens `serve --transport http --tokens FILE`
    accepts.

    \b
    Examples:
      memorygraph token create alice --tokens tokens.json --namespace team-a \\
          --scope read --scope write
      memorygraph token list --tokens tokens.json
      memorygraph token revoke alice --tokens tokens.json
    """


@token.command()
@click.argument("principal")
@tokens_option
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    required=True,
    help="A namespace the token reaches (repeatable); the first takes its writes.",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES, case_sensitive=False),
    help="read, write or admin (repeatable).",
)
def create(
    principal: str, tokens_path: Path, namespaces: tuple[str, ...], scopes: tuple[str, ...]
) -> None:
    """Make a token for PRINCIPAL and print it, alone, on stdout (shown only this once).

    The file keeps its sha256 hash, never the token. A running server reads the
    file again when it changes.

    \b
    Examples:
      memorygraph token create ci-bot --tokens tokens.json --namespace team-a --scope read
      TOKEN=$(memorygraph token create alice --tokens tokens.json --namespace team-a \\
          --namespace shared --scope read --scope write)
    """
    _, secret = TokenFile(tokens_path).create(principal, namespaces, scopes)
    click.echo(secret)


@token.command("list")
@tokens_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_tokens(tokens_path: Path, as_json: bool) -> None:
    """List the tokens of the file: id, principal, namespaces, scopes (never a token).

    \b
    Examples:
      memorygraph token list --tokens tokens.json --json
    """
    entries = TokenFile(tokens_path).entries()
    if as_json:
        emit_json([e.public() for e in entries])
        return
    table = Table("id", "principal", "namespaces", "scopes", "created")
    for e in entries:
        table.add_row(e.id, e.principal, ", ".join(e.namespaces), ", ".join(e.scopes), e.created_at)
    console.print(table)


@token.command()
@click.argument("which")
@tokens_option
def revoke(which: str, tokens_path: Path) -> None:
    """Remove the token with id WHICH, or every token of the principal WHICH.

    \b
    Examples:
      memorygraph token revoke 3f9a01bc --tokens tokens.json
    """
    gone = TokenFile(tokens_path).revoke(which)
    console.print(
        Text(f"revoked {len(gone)} token(s): {', '.join(e.id for e in gone)}"), highlight=False
    )


def register(group: click.Group) -> None:
    group.add_command(token)
