"""One client process of the concurrency tests: stores memories through the HTTP
servers given (in turn), then reads back every one it stored, through each server.

    python -m tests.http.writer TOKEN NAME COUNT URL [URL …]

Prints one JSON object: the ids it stored and the ids it read back.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack

import orjson

from tests.http.helpers import http_client
from tests.mcp_server.helpers import call


async def main(token: str, name: str, count: int, urls: list[str]) -> dict[str, list[str]]:
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(http_client(url, token)) for url in urls]
        stored: list[str] = []
        for i in range(count):
            memory = await call(
                clients[i % len(clients)],
                "store_memory",
                type="task",
                title=f"{name} note {i}",
                content=f"written by {name}, number {i}",
                tags=[name],
            )
            stored.append(memory["id"])
        read: set[str] = set()
        for client in clients:  # every id through every server
            for memory_id in stored:
                got = await call(client, "get_memory", memory_id=memory_id)
                assert got["memory"]["title"].startswith(f"{name} note ")
                read.add(memory_id)
    return {"stored": stored, "read": sorted(read)}


if __name__ == "__main__":
    token, name, count, *urls = sys.argv[1:]
    sys.stdout.write(orjson.dumps(asyncio.run(main(token, name, int(count), urls))).decode())
