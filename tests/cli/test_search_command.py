"""`memorygraph search` and `memorygraph reindex` on the demo graph and on an older store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from memorygraph.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, err = run(
        capsys, "demo", "--dir", str(tmp_path / "demo"), "--memories", "300", "--to", "sqlite"
    )
    assert code == 0, err
    return tmp_path / "demo" / "memory.db"


def search(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> list[dict[str, object]]:
    code, out, err = run(
        capsys, "search", *args, "--backend", "sqlite", "--path", str(db), "--json"
    )
    assert code == 0, err
    return list(json.loads(out))


def test_a_question_finds_the_redis_timeout_memories(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = search(capsys, demo_db, "how did we fix the redis timeouts", "--limit", "5")
    assert len(found) == 5
    for hit in found:
        assert str(hit["title"]).startswith("redis timeout"), hit["title"]
        assert set(hit["matched"]) >= {"redis", "timeouts"}  # type: ignore[call-overload]
    scores = [float(h["score"]) for h in found]  # type: ignore[arg-type]
    assert scores == sorted(scores, reverse=True)
    code, out, _ = run(
        capsys, "search", "how did we fix the redis timeouts", "--path", str(demo_db),
        "--backend", "sqlite",
    )  # fmt: skip
    assert code == 0 and "redis timeout" in out


def test_filters_and_paging_options(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    everything = search(capsys, demo_db, "redis timeout", "--limit", "50")
    first = search(capsys, demo_db, "redis timeout", "--limit", "5")
    second = search(capsys, demo_db, "redis timeout", "--limit", "5", "--offset", "5")
    assert [h["id"] for h in first + second] == [h["id"] for h in everything[:10]]
    problems = search(capsys, demo_db, "redis timeout", "--type", "problem", "--limit", "50")
    assert problems and all(h["type"] == "problem" for h in problems)
    tagged = search(capsys, demo_db, "timeout", "--tag", "redis", "--limit", "50")
    assert tagged and all("redis" in h["tags"] for h in tagged)  # type: ignore[operator]


def test_an_unbalanced_quote_is_one_line(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "search", '"redis timeout', "--backend", "sqlite", "--path", str(demo_db)
    )
    assert code == 2
    assert "unbalanced double quote" in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_reindex_makes_an_older_store_searchable(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a store written before the search index existed looks like to search.
    with sqlite3.connect(demo_db) as conn:
        conn.execute("DELETE FROM memories_search")
        conn.execute("DELETE FROM mg_meta WHERE key = 'search_index'")
    code, _, err = run(capsys, "search", "redis", "--backend", "sqlite", "--path", str(demo_db))
    assert code == 2 and "memorygraph reindex" in err and "Traceback" not in err
    code, out, err = run(capsys, "reindex", "--backend", "sqlite", "--path", str(demo_db), "--json")
    assert code == 0, err
    assert json.loads(out)["indexed"] == 300
    assert search(capsys, demo_db, "redis timeout", "--limit", "3")


def test_reindex_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "reindex", "--help")
    assert code == 0 and "memorygraph reindex" in out and "Example" in out
