"""The one check every engine's connection-failure tests share."""

from __future__ import annotations

import time

import pytest

from memorygraph.backends.registry import create_backend
from memorygraph.config import BackendConfig
from memorygraph.errors import BackendConnectionError

#: A password that must never show up in any message.
SECRET = "s3cret-never-printed"


async def refused(config: BackendConfig, prefix: str | None = None) -> str:
    """Connect with `config`, expecting refusal: fast (within the timeout), one line,
    naming the location, with no password. Returns the message."""
    start = time.monotonic()
    backend = create_backend(config)
    with pytest.raises(BackendConnectionError) as info:
        await backend.connect()
    elapsed = time.monotonic() - start
    await backend.close()  # safe after a failed connect
    message = str(info.value)
    assert elapsed < config.timeout_seconds + 1, f"took {elapsed:.1f}s"
    assert "\n" not in message
    assert SECRET not in message
    assert not config.password or config.password not in message
    assert message.startswith(prefix or f"cannot connect to {config.describe()}"), message
    return message
