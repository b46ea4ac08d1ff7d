"""The whole-graph verbs' models turn into what the library runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from memorygraph.migration.models import MigrationOptions, VerifyMode
from memorygraph.ops.graph_inputs import ExportMemories, MigrateStore


def test_the_defaults_are_the_libraries_safe_defaults(tmp_path: Path) -> None:
    options = MigrateStore().options(workdir=tmp_path, migration_id="m1")
    assert options == MigrationOptions(workdir=tmp_path, migration_id="m1")


def test_each_field_reaches_the_migration_options(tmp_path: Path) -> None:
    request = MigrateStore(
        dry_run=True,
        skip_duplicates=True,
        sample_every=7,
        keep_deletions=True,
        rollback_on_failure=False,
        batch_size=3,
        via_export=True,
    )
    options = request.options(workdir=tmp_path, migration_id="m2")
    assert options.dry_run and options.skip_duplicates
    assert (options.verify, options.sample_every) == (VerifyMode.SAMPLE, 7)
    assert not options.propagate_deletions and not options.rollback_on_failure
    assert options.batch_size == 3 and not options.direct_copy
    unverified = MigrateStore(verify=False, sample_every=7)
    assert unverified.options(workdir=tmp_path, migration_id="m3").verify == VerifyMode.NONE


def test_a_path_is_made_absolute_without_following_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real.jsonl").write_text("")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "real.jsonl")
    monkeypatch.chdir(tmp_path)
    assert ExportMemories(path="link.jsonl").path == Path.cwd() / "link.jsonl"
    with pytest.raises(ValidationError, match="empty"):
        ExportMemories(path=" ")
