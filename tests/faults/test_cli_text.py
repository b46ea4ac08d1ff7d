"""User text that looks like terminal markup is stored, shown and reported verbatim."""

from __future__ import annotations

from pathlib import Path

from tests.faults.helpers import run_command


def _cli(db: Path, *args: str) -> tuple[int, str, str]:
    done = run_command(*args, "--backend", "sqlite", "--path", db)
    return done.returncode, done.stdout, done.stderr


def test_titles_with_brackets_are_searched_and_shown_verbatim(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    title = "see [/var/log] and Use Optional[int] and dict[str, int] :smile: [bold]x[/bold]"
    code, out, err = _cli(db, "add", "--type", "general", "--title", title, "--id", "m1")
    assert code == 0, err
    code, out, err = _cli(db, "search", "var log")
    assert code == 0, err
    assert "Traceback" not in err
    assert "[/var/log]" in out.replace("\n", "")
    code, out, err = _cli(db, "get", "m1")
    assert code == 0, err
    flat = " ".join(out.split())
    for piece in ("[/var/log]", "Optional[int]", "dict[str, int]", ":smile:", "[bold]x[/bold]"):
        assert piece in flat, piece


def test_an_id_that_looks_like_markup_is_reported_once_stored(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    code, out, err = _cli(db, "add", "--type", "general", "--title", "t", "--id", "[/id]")
    assert code == 0, err
    assert "[/id]" in out
    code, out, err = _cli(db, "add", "--type", "general", "--title", "u", "--id", "[red]")
    assert code == 0, err
    code, out, err = _cli(db, "relate", "[/id]", "[red]", "related_to")
    assert code == 0, err
    assert "[/id]" in out and "[red]" in out
    code, out, err = _cli(db, "related", "[/id]")
    assert code == 0, err
    assert "[red]" in out


def test_an_error_naming_markup_text_is_one_plain_line(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    code, _, err = _cli(db, "add", "--type", "general", "--title", "t", "--id", "m")
    assert code == 0, err
    code, _, err = _cli(db, "get", "[/missing]")
    assert code == 1
    assert "Traceback" not in err
    assert "[/missing]" in err
    assert len(err.strip().splitlines()) == 1
