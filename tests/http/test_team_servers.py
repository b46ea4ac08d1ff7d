"""Two stateless `memorygraph serve --transport http` processes on one FalkorDB
server, written to by eight client processes at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from memorygraph.config import BackendConfig
from tests.http.helpers import clean_env, create_token, http_client, running_server
from tests.mcp_server.helpers import call

CLIENTS = 8
WRITES = 25

pytestmark = [pytest.mark.falkordb, pytest.mark.slow]


async def test_two_servers_eight_clients_one_falkordb(
    falkordb_config: BackendConfig, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    token = create_token(tokens, "team-bot", "--namespace", "team-a", "--scope", "read",
                         "--scope", "write")  # fmt: skip
    args = (
        "--backend", "falkordb",
        "--uri", str(falkordb_config.uri),
        "--database", str(falkordb_config.database),
        "--tokens", str(tokens),
    )  # fmt: skip
    env = {"FALKORDB_PASSWORD": str(falkordb_config.password)}
    with (
        running_server(tmp_path, *args, env=env, name="one") as one,
        running_server(tmp_path, *args, env=env, name="two") as two,
    ):
        writers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.http.writer",
                    token,
                    f"client{n}",
                    str(WRITES),
                    *((one.url, two.url) if n % 2 else (two.url, one.url)),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=clean_env(),
                cwd=Path(__file__).resolve().parents[2],
            )
            for n in range(CLIENTS)
        ]
        results = []
        for writer in writers:
            out, err = writer.communicate(timeout=600)
            assert writer.returncode == 0, err.decode()[-3000:]
            results.append(orjson.loads(out))
        for result in results:
            assert len(result["stored"]) == WRITES
            assert result["read"] == sorted(result["stored"])
        every = {i for result in results for i in result["stored"]}
        assert len(every) == CLIENTS * WRITES
        for server in (one, two):
            async with http_client(server.url, token) as client:
                stats = await call(client, "get_memory_statistics")
                assert stats["memories"] == CLIENTS * WRITES
        assert one.stop() == 0 and two.stop() == 0
