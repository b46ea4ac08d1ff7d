"""The CLI's event-loop runner keeps asyncio's own race reports away from the user."""

from __future__ import annotations

import asyncio
import logging

import pytest

from memorygraph.cli.common import run


async def _callback_loses_race_with_cancel() -> None:
    # What Ctrl-C can do between a timer callback's check and its write: the waiter
    # is cancelled, then the callback sets it anyway.
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    waiter.cancel()
    loop.call_soon(waiter.set_result, None)
    await asyncio.sleep(0.01)


async def _callback_fails() -> None:
    loop = asyncio.get_running_loop()
    loop.call_soon(_boom)
    await asyncio.sleep(0.01)


def _boom() -> None:
    raise RuntimeError("a callback that really failed")


def test_a_callback_that_lost_a_race_with_a_cancellation_is_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        run(_callback_loses_race_with_cancel())
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text


def test_a_callback_that_really_failed_is_still_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        run(_callback_fails())
    assert "a callback that really failed" in caplog.text
