"""The installed `memorygraph serve --transport http` as a subprocess, and real MCP
clients (the SDK's streamable-HTTP client) that reach it with a bearer token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.mcp_server.helpers import MEMORYGRAPH

#: Seconds a server gets to start listening (it opens the store first).
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class HttpServer:
    """A running server process: where it listens and what it logged."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, then wait for the graceful stop; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env.update(extra or {})
    return env


@contextmanager
def running_server(
    tmp_path: Path, *args: str, env: Mapping[str, str] | None = None, name: str = "server"
) -> Iterator[HttpServer]:
    """`memorygraph serve --transport http --port FREE ARGS`, listening; stopped after."""
    port = free_port()
    log = tmp_path / f"{name}-{port}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [MEMORYGRAPH, "serve", "--transport", "http", "--port", str(port), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=clean_env(env),
        )
    server = HttpServer(process, f"http://127.0.0.1:{port}/mcp", log)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while "MCP over HTTP at" not in server.stderr():
            if process.poll() is not None:
                raise AssertionError(f"the server exited {process.returncode}: {server.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {server.stderr()}")
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            server.stop()


@asynccontextmanager
async def http_client(url: str, token: str | None = None) -> AsyncIterator[Client]:
    """An MCP client of the server at `url`, sending `token` as its bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60.0) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def create_token(tokens: Path, principal: str, *options: str) -> str:
    """A new static token, made by the installed `memorygraph token create`."""
    done = subprocess.run(
        [MEMORYGRAPH, "token", "create", principal, "--tokens", str(tokens), *options],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
    )
    token = done.stdout.strip()
    assert "\n" not in token and token.startswith("mgt_"), done.stdout
    return token
