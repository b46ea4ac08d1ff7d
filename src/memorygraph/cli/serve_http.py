"""The options of `memorygraph serve` for MCP over HTTP, and serving it (with the
browser pages at /ui)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.text import Text

from memorygraph.cli.common import err_console, search_settings
from memorygraph.config import BackendConfig
from memorygraph.mcp_server import ServerSettings
from memorygraph.ops.memories import open_store

if TYPE_CHECKING:
    # Loaded by the HTTP transport only (uvicorn, JSON Web Tokens): stdio starts faster.
    from memorygraph.mcp_server.http import HttpSettings

F = TypeVar("F", bound=Callable[..., Any])

#: The flags that configure authentication, as the refusal to serve without it names them.
AUTH_FLAGS = (
    "--tokens FILE, or --jwt-audience AUD with --jwt-secret-env VAR, --jwt-jwks-url URL "
    "or --jwt-public-key FILE"
)

#: The keyword arguments these options add, which `http_settings` takes.
HTTP_KEYS = (
    "host",
    "port",
    "tokens",
    "jwt_secret_env",
    "jwt_audience",
    "jwt_issuer",
    "jwt_jwks_url",
    "jwt_public_key",
    "audit_log",
)


def http_options(fn: F) -> F:
    """Add --host, --port, the authentication flags and --audit-log."""
    options = [
        click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            help="HTTP: the address to listen on. Another than loopback needs authentication.",
        ),
        click.option(
            "--port",
            type=click.IntRange(1, 65535),
            default=8765,
            show_default=True,
            help="HTTP: the port to listen on.",
        ),
        click.option(
            "--tokens",
            type=click.Path(dir_okay=False, path_type=Path),
            help="HTTP: accept the static tokens of this file (see `memorygraph token`).",
        ),
        click.option(
            "--jwt-secret-env",
            metavar="VAR",
            help="HTTP: accept HS256 JSON Web Tokens signed with the secret in this "
            "environment variable.",
        ),
        click.option(
            "--jwt-jwks-url",
            metavar="URL",
            help="HTTP: accept RS256/ES256 JSON Web Tokens signed by a key of this JWKS.",
        ),
        click.option(
            "--jwt-public-key",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="HTTP: accept RS256/ES256 JSON Web Tokens signed with this PEM key's pair.",
        ),
        click.option("--jwt-audience", metavar="AUD", help="HTTP: the `aud` tokens must carry."),
        click.option("--jwt-issuer", metavar="ISS", help="HTTP: the `iss` tokens must carry."),
        click.option(
            "--audit-log",
            type=click.Path(dir_okay=False, path_type=Path),
            help="HTTP: append one JSON line per tool call to this file.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def http_settings(options: dict[str, Any]) -> HttpSettings:
    """The HTTP settings the options give (removed from `options`); the environment
    variable --jwt-secret-env names is read here."""
    from memorygraph.jwt_tokens import JwtSettings
    from memorygraph.mcp_server.http import HttpSettings, is_loopback

    given = {key: options.pop(key, None) for key in HTTP_KEYS}
    sources = [given["jwt_secret_env"], given["jwt_jwks_url"], given["jwt_public_key"]]
    jwt: JwtSettings | None = None
    if any(sources) or given["jwt_audience"] or given["jwt_issuer"]:
        if sum(1 for s in sources if s) != 1:
            raise click.UsageError(
                "give exactly one of --jwt-secret-env, --jwt-jwks-url and --jwt-public-key"
            )
        if not given["jwt_audience"]:
            raise click.UsageError("JSON Web Tokens need --jwt-audience AUD")
        secret = None
        if given["jwt_secret_env"]:
            secret = os.environ.get(given["jwt_secret_env"])
            if not secret:
                raise click.UsageError(
                    f"the environment variable {given['jwt_secret_env']} named by "
                    "--jwt-secret-env is not set or empty"
                )
        public_key = given["jwt_public_key"].read_text() if given["jwt_public_key"] else None
        jwt = JwtSettings(
            audience=given["jwt_audience"],
            issuer=given["jwt_issuer"],
            secret=secret,
            public_key=public_key,
            jwks_url=given["jwt_jwks_url"],
        )
    if given["tokens"] is not None and not given["tokens"].exists():
        raise click.UsageError(
            f"--tokens {given['tokens']} does not exist; make a token first with "
            "`memorygraph token create PRINCIPAL --tokens FILE --namespace NS --scope read`"
        )
    settings = HttpSettings(
        host=given["host"],
        port=given["port"],
        tokens=given["tokens"],
        jwt=jwt,
        audit_log=given["audit_log"],
    )
    if not settings.authenticated and not is_loopback(settings.host):
        raise click.UsageError(
            f"--host {settings.host} is not a loopback address; serving it without "
            f"authentication is refused: add {AUTH_FLAGS}, or use --host 127.0.0.1"
        )
    return settings


async def run_http(config: BackendConfig, settings: ServerSettings, http: HttpSettings) -> None:
    """Open the store and serve it over HTTP until SIGTERM or SIGINT."""
    from memorygraph.mcp_server.http import serve_http
    from memorygraph.ui.team import mount_ui

    def ready(url: str) -> None:
        err_console.print(Text(f"memorygraph serve: MCP over HTTP at {url}"), highlight=False)

    async with open_store(config, search_settings()) as store:
        await serve_http(
            store,
            settings,
            http,
            on_ready=ready,
            mount=lambda app, server, verifier: mount_ui(app, store, server, verifier),
        )
