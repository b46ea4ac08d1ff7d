"""Contract for the `bulk_insert` and `copies_own_stores` capabilities, a mixin each,
each skipped as a whole on backends that do not declare it.

Inside `Backend.bulk_insert()`, batches written as known new are each whole when their
call returns, announced to `before_write` first, and stored exactly as the ordinary
writes store them. `Backend.copy_store` from another store of the same backend takes
that store's pages as it keeps them: every record arrives with the same canonical
bytes, memories first, each page announced before it is written and reported after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import pytest

from memorygraph.backends.base import Backend, RecordKind, WriteResult
from memorygraph.backends.registry import create_backend
from memorygraph.backends.spec import BULK_INSERT, COPIES_OWN_STORES
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import BackendConfig
from memorygraph.testing.contract.base import ContractBase, requires
from memorygraph.testing.contract.records import mem, rel


async def _canonical(backend: Backend, kind: RecordKind) -> list[tuple[str, bytes]]:
    return [(r.id, r.raw) async for page in backend.iter_canonical(kind) for r in page]


@requires(BULK_INSERT)
class BulkInsertContract(ContractBase):
    """Known-new batches inside `bulk_insert()` are stored as ordinary writes store them."""

    async def test_known_new_batches_are_whole_when_each_call_returns(
        self, backend: Backend
    ) -> None:
        memories = [mem(i, tags=["bulk", "ü"], summary=f"s{i}") for i in range(1, 8)]
        edges = [rel(i, f"m{i:04d}", f"m{i + 1:04d}", description="ß") for i in range(1, 7)]
        heard: list[list[str]] = []

        async def announce(ids: Sequence[str]) -> None:
            heard.append(list(ids))

        async with backend.bulk_insert():
            for start in (0, 4):
                page = [CanonicalRecord.of(m) for m in memories[start : start + 4]]
                written = await backend.upsert_canonical(
                    "memory", page, known_new=True, before_write=announce
                )
                assert written.inserted == [r.id for r in page]
                assert await backend.count_memories() == start + len(page)
            await backend.upsert_canonical(
                "relationship",
                [CanonicalRecord.of(r) for r in edges],
                known_new=True,
                before_write=announce,
            )
            assert await backend.count_relationships() == len(edges)
        assert heard == [
            [m.id for m in memories[:4]],
            [m.id for m in memories[4:]],
            [r.id for r in edges],
        ]
        assert await _canonical(backend, "memory") == [
            (m.id, m.canonical_bytes()) for m in memories
        ]
        assert await _canonical(backend, "relationship") == [
            (r.id, r.canonical_bytes()) for r in edges
        ]
        assert await backend.get_memories(["m0003"]) == [memories[2]]
        assert [n.memory.id for n in await backend.neighbours("m0004")] == ["m0003", "m0005"]


@requires(COPIES_OWN_STORES)
class CopiesOwnStoresContract(ContractBase):
    """A store copies another store of its backend page by page, as that store keeps it."""

    @pytest.fixture
    async def other_store(self, backend_config: BackendConfig) -> AsyncIterator[Backend]:
        """An empty store of the same backend beside the one `backend_config` names."""
        if not backend_config.spec.uses_path or backend_config.path is None:
            pytest.skip(
                f"backend {backend_config.backend_type} is reached by URI; "
                "the copy tests make a second store beside a path"
            )
        path = backend_config.path
        async with create_backend(
            replace(backend_config, path=path.with_name(f"copy-{path.name}"))
        ) as other:
            yield other

    async def test_a_store_of_the_same_backend_is_copied_exactly(
        self, backend: Backend, other_store: Backend
    ) -> None:
        memories = [mem(i, tags=["copy"], context={"metadata": {"n": i}}) for i in range(1, 6)]
        await backend.upsert_memories(memories)
        await backend.upsert_relationships([rel(1, "m0001", "m0002"), rel(2, "m0003", "m0001")])
        events: list[tuple[str, RecordKind, list[str]]] = []

        async def before(kind: RecordKind, ids: Sequence[str]) -> None:
            events.append(("before", kind, list(ids)))

        async def after(kind: RecordKind, result: WriteResult) -> None:
            events.append(("after", kind, list(result.inserted)))

        assert other_store.copies_from(backend)
        async with backend.read_snapshot():
            await other_store.copy_store(backend, before_write=before, on_page=after, page_size=2)
        for kind in ("memory", "relationship"):
            assert await _canonical(other_store, kind) == await _canonical(backend, kind)
        pages = [["m0001", "m0002"], ["m0003", "m0004"], ["m0005"]]
        expected = [(step, "memory", ids) for ids in pages for step in ("before", "after")]
        expected += [("before", "relationship", ["r0001", "r0002"])]
        expected += [("after", "relationship", ["r0001", "r0002"])]
        assert events == expected
        assert [n.memory.id for n in await other_store.neighbours("m0001")] == ["m0002", "m0003"]
