"""read_ahead: every item in order, errors where they are read, nothing left running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from memorygraph.threads import read_ahead


async def _count(
    n: int, fail_at: int | None = None, read: list[int] | None = None
) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        if i == fail_at:
            raise ValueError(f"broken at {i}")
        if read is not None:
            read.append(i)
        yield i


@pytest.mark.parametrize("depth", [1, 3])
async def test_items_come_in_order_and_errors_where_read(depth: int) -> None:
    assert [i async for i in read_ahead(_count(10), depth=depth)] == list(range(10))
    got: list[int] = []
    with pytest.raises(ValueError, match="broken at 4"):
        async for i in read_ahead(_count(10, fail_at=4), depth=depth):
            got.append(i)
    assert got == [0, 1, 2, 3]


async def test_reading_goes_on_up_to_the_depth_and_stops_with_the_reader() -> None:
    read: list[int] = []
    async with aclosing(read_ahead(_count(100, read=read), depth=3)) as items:
        assert await anext(items) == 0
        await asyncio.sleep(0.01)  # the reader waits: the reading goes on meanwhile
        assert 3 <= len(read) <= 5
    settled = len(read)
    await asyncio.sleep(0.01)
    assert len(read) == settled  # closed: nothing reads on
