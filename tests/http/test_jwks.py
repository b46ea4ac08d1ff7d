"""JSON Web Tokens signed by an identity provider's keys: a JWKS served from a local
HTTP server, RS256 tokens signed with its key, the key rotated, an unknown key
refused; and ES256 tokens checked against a PEM public key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from memorygraph.jwt_tokens import JWKS_RETRY
from tests.http.helpers import http_client, running_server
from tests.mcp_server.helpers import call

AUDIENCE = "memorygraph"


class Jwks:
    """A JWKS document served on loopback; `keys` can change while it serves."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def publish(self, kid: str, key: rsa.RSAPrivateKey) -> None:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        self.keys.append({**public, "kid": kid, "use": "sig", "alg": "RS256"})


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    served = Jwks()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed(key: Any, kid: str | None, algorithm: str = "RS256", **claims: Any) -> str:
    body = {
        "sub": "dana",
        "aud": AUDIENCE,
        "exp": int(time.time()) + 300,
        "scope": "memory:read memory:write",
        "namespaces": ["team-a"],
        **claims,
    }
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


async def stats(url: str, token: str) -> dict[str, Any]:
    async with http_client(url, token) as client:
        return await call(client, "get_memory_statistics")


def status(url: str, token: str) -> int:
    response = httpx2.post(
        url,
        content=json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        ).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        timeout=30.0,
    )
    return response.status_code


async def test_jwks_keys_rotate_and_unknown_keys_are_refused(jwks: Jwks, tmp_path: Path) -> None:
    first, second, stranger = rsa_key(), rsa_key(), rsa_key()
    jwks.publish("key-1", first)
    with running_server(
        tmp_path,
        "--path", str(tmp_path / "memory.db"),
        "--jwt-jwks-url", jwks.url,
        "--jwt-audience", AUDIENCE,
    ) as server:  # fmt: skip
        old = signed(first, "key-1")
        async with http_client(server.url, old) as client:
            stored = await call(client, "store_memory", type="task", title="Rotate keys")
        assert jwks.fetches == 1
        assert status(server.url, signed(first, "key-1", aud="someone-else")) == 401

        # The provider rotates: it publishes a new key and signs new tokens with it,
        # while tokens signed with the old key are still valid.
        jwks.publish("key-2", second)
        time.sleep(JWKS_RETRY + 0.2)
        new = signed(second, "key-2")
        async with http_client(server.url, new) as client:
            got = await call(client, "get_memory", memory_id=stored["id"])
            assert got["memory"]["title"] == "Rotate keys"
        assert jwks.fetches == 2  # fetched again for the key id it did not know
        assert (await stats(server.url, old))["memories"] == 1

        # A key the provider never published, under a new id or a known one.
        time.sleep(JWKS_RETRY + 0.2)
        assert status(server.url, signed(stranger, "key-3")) == 401
        assert status(server.url, signed(stranger, "key-2")) == 401
        assert status(server.url, signed(stranger, None)) == 401
        # An HS256 token "signed" with the public key must not pass as the key's own.
        public_pem = second.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert status(server.url, forged_hs256(public_pem)) == 401

        # The provider retires the old key: its tokens stop working once the keys
        # are fetched again (a token with an unknown id makes it fetch).
        jwks.keys = [k for k in jwks.keys if k["kid"] != "key-1"]
        time.sleep(JWKS_RETRY + 0.2)
        assert status(server.url, signed(stranger, "key-4")) == 401
        assert status(server.url, old) == 401
        assert status(server.url, new) == 200


def forged_hs256(secret: bytes) -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": "key-2"}
    claims = {
        "sub": "mallory",
        "aud": AUDIENCE,
        "exp": int(time.time()) + 300,
        "scope": "memory:admin",
        "namespaces": ["team-a"],
    }

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = b64(json.dumps(header).encode()) + b"." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + b64(signature)).decode()


async def test_es256_tokens_against_a_public_key_file(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "idp.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with running_server(
        tmp_path,
        "--path", str(tmp_path / "memory.db"),
        "--jwt-public-key", str(pem),
        "--jwt-audience", AUDIENCE,
    ) as server:  # fmt: skip
        assert (await stats(server.url, signed(key, None, "ES256")))["memories"] == 0
        other = ec.generate_private_key(ec.SECP256R1())
        assert status(server.url, signed(other, None, "ES256")) == 401
        assert status(server.url, signed(key, None, "ES256", exp=int(time.time()) - 60)) == 401
