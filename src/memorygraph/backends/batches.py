"""Helpers every backend's batch code shares: refusing a batch (`unique_ids`,
`missing_ends`), reporting a write (`write_report`), relationship ends (`ends_of`,
`touching`), project filtering (`in_project`) and keyset paging (`paginate`,
`paginate_pages`, `grouped`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Sequence
from typing import TypeVar

from memorygraph.cancellation import checkpoint
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import IntegrityError, InvalidRecordError
from memorygraph.models import Memory
from memorygraph.values import WriteResult


def missing_ends(missing: Collection[str]) -> IntegrityError:
    """The error for relationship ends that are not stored memories."""
    sample = ", ".join(repr(i) for i in sorted(missing)[:3])
    return IntegrityError(
        f"{len(missing)} relationship end(s) are not stored memories ({sample}); "
        "write those memories first"
    )


def unique_ids(records: Sequence[CanonicalRecord]) -> list[str]:
    """The ids of a batch, in order; `InvalidRecordError` when one appears twice."""
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise InvalidRecordError(
            f"id {dup!r} appears twice in one batch; give each record its own id"
        )
    return ids


def in_project(memory: Memory, project: str | None) -> bool:
    """Whether `memory` belongs to `project` (every memory does when it is None)."""
    if project is None:
        return True
    return memory.context is not None and memory.context.project_path == project


T = TypeVar("T")


async def paginate_pages(
    fetch: Callable[[str | None, int], Awaitable[Sequence[T]]],
    key: Callable[[T], str],
    size: int,
) -> AsyncIterator[Sequence[T]]:
    """Keyset pagination: `fetch(after, size)` returns up to `size` items whose key is
    greater than `after` (all if None), ascending; yield each page of them whole."""
    after: str | None = None
    while page := await fetch(after, size):
        yield page
        if len(page) < size:
            return
        after = key(page[-1])
        await checkpoint()  # a cancellation lands between pages


async def paginate(
    fetch: Callable[[str | None, int], Awaitable[Sequence[T]]],
    key: Callable[[T], str],
    size: int,
) -> AsyncIterator[T]:
    """`paginate_pages`, item by item: one page in memory."""
    async for page in paginate_pages(fetch, key, size):
        for item in page:
            yield item


async def grouped(items: AsyncIterator[T], size: int) -> AsyncIterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter; none is empty)."""
    page: list[T] = []
    async for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def write_report(
    ids: Sequence[str],
    existing: Collection[str],
    skip_existing: bool,
    rejected: Collection[str] = frozenset(),
) -> WriteResult:
    """What a write of the batch `ids` did (or, planned, would do), given the ids the
    store held before it: each id rejected, else inserted (new), skipped (held, with
    `skip_existing`) or updated (held)."""
    result = WriteResult()
    for i in ids:
        if i in rejected:
            result.rejected.append(i)
        elif i not in existing:
            result.inserted.append(i)
        elif skip_existing:
            result.skipped.append(i)
        else:
            result.updated.append(i)
    return result


def ends_of(relationships: Iterable[CanonicalRecord]) -> set[str]:
    """The memory ids at either end of `relationships`."""
    return {r.data[end] for r in relationships for end in ("from_id", "to_id")}


def touching(relationships: Iterable[CanonicalRecord], memory_ids: Collection[str]) -> set[str]:
    """The ids of `relationships` with an end among `memory_ids`."""
    return {
        r.id for r in relationships if any(r.data[e] in memory_ids for e in ("from_id", "to_id"))
    }
