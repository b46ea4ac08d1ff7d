"""Validation finds each kind of damage, on the right line."""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from memorygraph.errors import UsageError
from memorygraph.exchange import validate_export
from memorygraph.exchange.format import iter_lines
from tests.exchange.helpers import export_sample, read_lines, write_lines

# The sample export of 10 memories: line 1 header, 2..11 memories (m0000..m0009),
# 12..31 relationships, 32 trailer.
HEADER, FIRST_MEMORY, FIRST_REL, TRAILER = 1, 2, 12, 32


@pytest.fixture
async def lines(tmp_path: Path) -> list[bytes]:
    path = await export_sample(tmp_path, n=10)
    out = read_lines(path)
    assert len(out) == TRAILER
    return out


def _check(
    tmp_path: Path, lines: list[bytes], line: int | None, words: str, *, newline: bool = True
) -> None:
    path = write_lines(tmp_path / "damaged.jsonl", lines, final_newline=newline)
    report = validate_export(path)
    assert not report.valid
    hits = [p for p in report.problems if words in p.message]
    assert hits, [str(p) for p in report.problems]
    assert hits[0].line == line, [str(p) for p in report.problems]


async def test_sample_is_valid(tmp_path: Path, lines: list[bytes]) -> None:
    report = validate_export(write_lines(tmp_path / "ok.jsonl", lines))
    assert report.valid, report.problems
    assert (report.memories, report.relationships, report.lines) == (10, 20, TRAILER)
    assert report.format_version == "1.1"
    assert report.to_dict()["valid"] is True


def _edit(index: int, fn: Callable[[bytes], bytes]) -> Callable[[list[bytes]], list[bytes]]:
    def apply(lines: list[bytes]) -> list[bytes]:
        lines = list(lines)
        before = lines[index]
        lines[index] = fn(before)
        assert lines[index] != before, "the damage must change the line"
        return lines

    return apply


CASES: list[tuple[str, Callable[[list[bytes]], list[bytes]], int | None, str]] = [
    ("invalid json", _edit(4, lambda b: b[:-3]), 5, "invalid JSON"),
    (
        "invalid utf-8",
        _edit(6, lambda b: b.replace(b"memory", b"mem\xff\xfery", 1)),
        7,
        "invalid UTF-8",
    ),
    ("not an object", _edit(3, lambda b: b"[1, 2]"), 4, "must be a JSON object"),
    ("blank line", _edit(5, lambda b: b""), 6, "blank line"),
    (
        "schema",
        _edit(2, lambda b: re.sub(rb'"importance":[0-9.]+', b'"importance":2.0', b)),
        3,
        "importance",
    ),
    (
        "unknown field",
        _edit(FIRST_REL, lambda b: b.replace(b'"bidirectional"', b'"bidi"')),
        FIRST_REL + 1,
        "invalid Relationship",
    ),
    ("missing record", _edit(8, lambda b: b'{"kind":"memory"}'), 9, '"record"'),
    (
        "unknown kind",
        _edit(8, lambda b: b.replace(b'"kind":"memory"', b'"kind":"memo"')),
        9,
        "unknown kind",
    ),
    (
        "bad external",
        _edit(FIRST_REL, lambda b: b[:-1] + b',"external":["x"]}'),
        FIRST_REL + 1,
        '"external"',
    ),
    ("external on memory", _edit(2, lambda b: b[:-1] + b',"external":[]}'), 3, '"external"'),
    ("duplicate memory", lambda ls: [*ls[:5], ls[3], *ls[5:]], 6, "duplicate memory id 'm0002'"),
    (
        "duplicate relationship",
        lambda ls: [*ls[:20], ls[15], *ls[20:]],
        21,
        "duplicate relationship id",
    ),
    ("dangling end", lambda ls: [ls[0], *ls[2:]], None, "not a memory in this file"),
    ("dropped record", lambda ls: [*ls[:7], *ls[8:]], TRAILER - 1, "lines were lost or added"),
    (
        "digest",
        _edit(9, lambda b: b.replace(b'"memory 8', b'"memory X', 1)),
        TRAILER,
        "digest mismatch",
    ),
    (
        "non-canonical",
        _edit(9, lambda b: b.replace(b'"usage_count":8000', b'"usage_count":8e3')),
        10,
        "canonical form",
    ),
    (
        "reordered keys",
        _edit(9, lambda b: b'{"record":' + b[26:-1] + b',"kind":"memory"}'),
        10,
        "canonical form",
    ),
    ("no trailer", lambda ls: ls[:-1], TRAILER, "no trailer"),
    ("cut mid-line", lambda ls: [*ls[:-1], ls[-1][:30]], TRAILER, "invalid JSON"),
    ("missing header", lambda ls: ls[1:], 1, "header is missing"),
    ("header moved", lambda ls: [ls[1], ls[0], *ls[2:]], 2, "must be line 1"),
    ("second header", lambda ls: [*ls[:3], ls[0], *ls[3:]], 4, "must be line 1"),
    (
        "memory after relationship",
        lambda ls: [*ls[:2], *ls[3:15], ls[2], *ls[15:]],
        15,
        "memory after the first relationship",
    ),
    ("line after trailer", lambda ls: [*ls, ls[5]], TRAILER + 1, "after the trailer"),
    ("second trailer", lambda ls: [*ls, ls[-1]], TRAILER + 1, "second trailer"),
    ("trailer first", lambda ls: [ls[0], ls[-1], *ls[1:-1]], 3, "after the trailer"),
    (
        "header edited",
        _edit(0, lambda b: b.replace(b'"tool_version":"', b'"tool_version":"9')),
        TRAILER,
        "header_digest",
    ),
    (
        "trailer digest case",
        _edit(-1, lambda b: b.replace(b'"digest":"', b'"digest":"X')),
        TRAILER,
        "digest mismatch",
    ),
    (
        "trailer algorithm",
        _edit(-1, lambda b: b.replace(b"sha256-sum", b"md5-sum")),
        TRAILER,
        "unknown digest algorithm",
    ),
    (
        "trailer counts",
        _edit(-1, lambda b: b.replace(b'"counts":{', b'"cnts":{')),
        TRAILER,
        '"counts"',
    ),
]


@pytest.mark.parametrize(("name", "damage", "line", "words"), CASES, ids=[c[0] for c in CASES])
async def test_damage_is_found_on_its_line(
    tmp_path: Path,
    lines: list[bytes],
    name: str,
    damage: Callable[[list[bytes]], list[bytes]],
    line: int | None,
    words: str,
) -> None:
    damaged = damage(lines)
    if line is None:  # the dangling case: the first relationship from/to m0000
        line = next(
            i + 1
            for i, b in enumerate(damaged)
            if b'"from_id":"m0000"' in b or b'"to_id":"m0000"' in b
        )
    _check(tmp_path, damaged, line, words)


async def test_missing_final_newline_is_truncation(tmp_path: Path, lines: list[bytes]) -> None:
    _check(tmp_path, lines, TRAILER, "no newline", newline=False)


def _with_header(lines: list[bytes], **changes: object) -> list[bytes]:
    header = orjson.loads(lines[0])
    header.update(changes)
    new = orjson.dumps(header)
    trailer = orjson.loads(lines[-1])
    trailer["header_digest"] = hashlib.sha256(new).hexdigest()
    return [new, *lines[1:-1], orjson.dumps(trailer)]


async def test_unknown_major_is_refused_naming_what_is_read(
    tmp_path: Path, lines: list[bytes]
) -> None:
    report = validate_export(
        write_lines(tmp_path / "v2.jsonl", _with_header(lines, format_version="2.0"))
    )
    assert report.problem_count == 1
    assert "format version 2.0 is not supported" in report.problems[0].message
    assert "reads 1.x" in report.problems[0].message
    assert report.problems[0].line == 1


@pytest.mark.parametrize("version", ["1", "one.zero", "1.0.0", 1.0])
async def test_malformed_version_is_refused(
    tmp_path: Path, lines: list[bytes], version: object
) -> None:
    report = validate_export(
        write_lines(tmp_path / "v.jsonl", _with_header(lines, format_version=version))
    )
    assert not report.valid and report.problems[0].line == 1
    assert "format_version" in report.problems[0].message


async def test_newer_minor_is_read_and_its_additions_ignored(
    tmp_path: Path, lines: list[bytes]
) -> None:
    newer = _with_header(lines, format_version="1.7", new_header_field={"x": 1})
    newer.insert(5, b'{"kind":"annotation","text":"from a newer writer"}')
    newer[3] = newer[3][:-1] + b',"future":true}'
    trailer = orjson.loads(newer[-1])
    trailer["future_key"] = 1
    newer[-1] = orjson.dumps(trailer)
    report = validate_export(write_lines(tmp_path / "v17.jsonl", newer))
    assert report.valid, report.problems
    assert report.ignored_lines == 1 and report.notes


async def test_same_minor_does_not_ignore_unknown_kinds(tmp_path: Path, lines: list[bytes]) -> None:
    same = [*lines[:5], b'{"kind":"annotation"}', *lines[5:]]
    _check(tmp_path, same, 6, "unknown kind")


async def test_not_an_export(tmp_path: Path, lines: list[bytes]) -> None:
    report = validate_export(write_lines(tmp_path / "x.jsonl", _with_header(lines, format="other")))
    assert report.problem_count == 1 and "not 'memorygraph-export'" in report.problems[0].message


async def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(b"")
    report = validate_export(tmp_path / "e.jsonl")
    assert not report.valid and report.problems[0].line is None
    assert "empty" in report.problems[0].message


async def test_problems_are_capped_but_all_counted(tmp_path: Path, lines: list[bytes]) -> None:
    junk = [b"not json"] * 150
    report = validate_export(
        write_lines(tmp_path / "j.jsonl", [*lines[:-1], *junk, lines[-1]]), max_problems=100
    )
    assert len(report.problems) == 100
    assert report.problem_count >= 150
    assert report.unreadable_lines == 150


async def test_gzip_truncated_and_corrupt(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, "g.jsonl.gz", n=10)
    data = path.read_bytes()
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    report = validate_export(tmp_path / "cut.jsonl.gz")
    assert not report.valid
    assert any("compressed data is damaged or cut short" in p.message for p in report.problems)
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.jsonl.gz").write_bytes(bytes(corrupt))
    assert not validate_export(tmp_path / "bad.jsonl.gz").valid


async def test_gzip_name_is_not_needed_to_read(tmp_path: Path) -> None:
    path = await export_sample(tmp_path, "g.jsonl.gz", n=3)
    renamed = tmp_path / "plain-name.jsonl"
    renamed.write_bytes(path.read_bytes())
    assert gzip.decompress(renamed.read_bytes())[:1] == b"{"
    assert validate_export(renamed).valid


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        validate_export(tmp_path / "nope.jsonl")


def test_overlong_lines_are_skipped_without_being_held() -> None:
    import io

    data = b"short\n" + b"x" * 5000 + b"\nnext\n" + b"y" * 5000
    got = list(iter_lines(io.BytesIO(data), max_line_bytes=100))
    assert [(r.number, r.data, r.too_long, r.terminated) for r in got] == [
        (1, b"short", False, True),
        (2, None, True, True),
        (3, b"next", False, True),
        (4, None, True, False),
    ]
