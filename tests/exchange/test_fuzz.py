"""Damaged files never validate and never write: hypothesis mutates a valid export.

Mutations: truncation at any byte, a flipped byte anywhere, a dropped or a
duplicated line, the header or trailer moved, invalid UTF-8 inserted, and a
10 MB line. Each must be reported by `validate_export`, and `import_graph`
must refuse it leaving the target empty.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memorygraph.errors import InvalidExportError
from memorygraph.exchange import import_graph, validate_export
from tests.exchange.helpers import export_sample, sqlite

_DIR = Path(tempfile.mkdtemp(prefix="mg-fuzz-"))


@functools.cache
def valid_export() -> bytes:
    path = asyncio.run(export_sample(_DIR, "seed.jsonl", n=6))
    assert validate_export(path).valid
    return path.read_bytes()


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")[:-1]


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    data = valid_export()
    lines = _lines(data)
    kind = draw(st.sampled_from(["truncate", "flip", "drop", "duplicate", "move", "utf8"]))
    if kind == "truncate":
        return kind, data[: draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        pos = draw(st.integers(0, len(data) - 1))
        mask = draw(st.integers(1, 255))
        return kind, data[:pos] + bytes([data[pos] ^ mask]) + data[pos + 1 :]
    if kind == "drop":
        i = draw(st.integers(0, len(lines) - 1))
        return kind, _join(lines[:i] + lines[i + 1 :])
    if kind == "duplicate":
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines)))
        return kind, _join([*lines[:j], lines[i], *lines[j:]])
    if kind == "move":
        which = draw(st.sampled_from([0, len(lines) - 1]))  # the header or the trailer
        moved = lines.pop(which)
        j = draw(st.integers(0, len(lines)).filter(lambda k: k != which))
        return kind, _join([*lines[:j], moved, *lines[j:]])
    pos = draw(st.integers(0, len(data)))
    bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
    return kind, data[:pos] + bad + data[pos:]


async def _import_writes_nothing(path: Path) -> None:
    db = path.with_suffix(".db")
    async with sqlite(db) as target:
        with pytest.raises(InvalidExportError):
            await import_graph(path, target)
        assert await target.count_memories() == 0
        assert await target.count_relationships() == 0
    db.unlink()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=damaged())
def test_damage_is_always_reported_and_never_imported(case: tuple[str, bytes]) -> None:
    kind, data = case
    if data == valid_export():
        return  # e.g. a line duplicated onto itself cannot happen; moving to the same place
    path = _DIR / f"case-{kind}.jsonl"
    path.write_bytes(data)
    report = validate_export(path)
    assert not report.valid, f"{kind}: damage not detected"
    assert report.problems and all(
        p.line is None or 1 <= p.line <= data.count(b"\n") + 2 for p in report.problems
    )
    asyncio.run(_import_writes_nothing(path))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(at=st.integers(0, 20), valid_json=st.booleans())
def test_a_10_mb_line_is_reported(at: int, valid_json: bool) -> None:
    lines = _lines(valid_export())
    at = min(at, len(lines))
    if valid_json:
        record = orjson.loads(lines[1])["record"]
        record["id"] = "huge"
        record["content"] = "x" * (10 * 1024 * 1024)
        big = orjson.dumps({"kind": "memory", "record": record}, option=orjson.OPT_SORT_KEYS)
    else:
        big = b"y" * (10 * 1024 * 1024)
    path = _DIR / "big.jsonl"
    path.write_bytes(_join([*lines[:at], big, *lines[at:]]))
    report = validate_export(path)
    assert not report.valid
    asyncio.run(_import_writes_nothing(path))


@settings(max_examples=40, deadline=None)
@given(cut=st.floats(0.0, 0.999))
def test_truncated_gzip_is_reported(cut: float) -> None:
    data = gzip.compress(valid_export(), mtime=0)
    path = _DIR / "cut.jsonl.gz"
    path.write_bytes(data[: int(len(data) * cut)])
    assert not validate_export(path).valid
