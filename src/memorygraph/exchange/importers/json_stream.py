"""One JSON document's top-level object, read member by member, chosen arrays item by item.

Every value is parsed by the standard library's decoder with the options the
importers read whole documents with (`_common.loads_exact`: integers of any
size kept exactly, NaN and Infinity as floats, lone surrogates kept), so a
streamed document gives exactly the values a whole read gives. Only the
top-level structure (the object's braces, keys, colons and commas, a streamed
array's brackets and commas) is scanned here. Memory holds one value and one
read chunk at a time, whatever the size of the file.

(ijson's C backend, the usual incremental parser, refuses NaN and Infinity,
which Python's `json` writes, and turns lone surrogates into "?"; that would
change what an upstream export means.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any, Final

_CHUNK: Final = 1 << 20  # characters read at a time
#: A value longer than this is not read further (an export line holds at most 64 MiB).
MAX_VALUE_CHARS: Final = 128 * 1024 * 1024
_SPACE: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder(parse_constant=float)


class JsonStreamError(ValueError):
    """The document is not valid JSON; the message names the place (line, column, char)."""


class NotAnObjectError(ValueError):
    """The document's top-level value is not a JSON object."""


class _Scanner:
    """The document as a moving window of text, with absolute positions for messages."""

    def __init__(self, stream: IO[str], chunk: int) -> None:
        self._stream = stream
        self._chunk = chunk
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._offset = 0  # characters dropped before the window
        self._lines = 0  # newlines dropped before the window
        self._column = 0  # characters after the last dropped newline

    def _more(self) -> bool:
        """Append the next chunk (at least as much as is still unread); False at the end."""
        if self._eof:
            return False
        text = self._stream.read(max(self._chunk, len(self._buf) - self._pos))
        if not text:
            self._eof = True
            return False
        dropped = self._buf[: self._pos]
        if dropped:
            self._offset += len(dropped)
            newlines = dropped.count("\n")
            self._lines += newlines
            self._column = (
                len(dropped) - dropped.rfind("\n") - 1 if newlines else self._column + len(dropped)
            )
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return True

    def error(self, message: str, pos: int | None = None) -> JsonStreamError:
        """`message` at `pos` of the window (the read position by default), in json's words."""
        at = self._pos if pos is None else pos
        before = self._buf[:at]
        newline = before.rfind("\n")
        line = self._lines + before.count("\n") + 1
        column = at - newline if newline >= 0 else self._column + at + 1
        return JsonStreamError(f"{message}: line {line} column {column} (char {self._offset + at})")

    def peek(self) -> str:
        """The next character that is not white space ("" at the end), not consumed."""
        while True:
            self._pos = _SPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def take(self, char: str, message: str) -> None:
        """Consume `char` as the next non-space character, or fail with `message`."""
        if self.peek() != char:
            raise self.error(message)
        self._pos += 1

    def value(self) -> Any:
        """The JSON value that starts at the next non-space character, consumed."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as e:
                if len(self._buf) - self._pos > MAX_VALUE_CHARS:
                    raise self.error(
                        f"{e.msg} (in a value longer than {MAX_VALUE_CHARS:,} characters)", e.pos
                    ) from None
                if self._more():
                    continue
                raise self.error(e.msg, e.pos) from None
            # A number that ends the window may go on in the next chunk.
            if end == len(self._buf) and self._more():
                continue
            self._pos = end
            return value


class StreamedArray:
    """The items of one member's array, read as they are iterated (once)."""

    def __init__(self, scanner: _Scanner) -> None:
        self._scanner = scanner
        self.count = 0
        self.done = False

    def __iter__(self) -> Iterator[Any]:
        scan = self._scanner
        if self.done:
            return
        if scan.peek() == "]":
            scan.take("]", "")
            self.done = True
            return
        while True:
            item = scan.value()
            self.count += 1
            yield item
            if scan.peek() == ",":
                scan.take(",", "")
                continue
            scan.take("]", "Expecting ',' delimiter")
            self.done = True
            return

    def drain(self) -> None:
        """Read (and drop) the items not iterated yet."""
        for _ in self:
            pass


def open_text(path: Path) -> IO[str]:
    """The file as text in the encoding `json.loads` would detect from its first bytes."""
    with path.open("rb") as raw:
        head = raw.read(4)
    return path.open(encoding=json.detect_encoding(head), errors="surrogatepass", newline="")


def members(
    path: Path, streamed: frozenset[str], *, chunk: int = _CHUNK
) -> Generator[tuple[str, Any], None, None]:
    """(key, value) for each member of the top-level object of the JSON file at `path`, in
    file order; the value of a key in `streamed` that holds an array is a `StreamedArray`,
    valid until the next member is asked for (items left unread are skipped then).

    Raises `JsonStreamError` where the text is not JSON, `NotAnObjectError` when the
    document is not an object, `UnicodeDecodeError` when its bytes are not text.
    """
    with open_text(path) as stream:
        scan = _Scanner(stream, chunk)
        first = scan.peek()
        if first == "":
            raise scan.error("Expecting value")
        if first != "{":
            raise NotAnObjectError(first)
        scan.take("{", "")
        if scan.peek() != "}":
            while True:
                if scan.peek() != '"':
                    raise scan.error("Expecting property name enclosed in double quotes")
                key = scan.value()
                scan.take(":", "Expecting ':' delimiter")
                if key in streamed and scan.peek() == "[":
                    scan.take("[", "")
                    items = StreamedArray(scan)
                    yield key, items
                    items.drain()
                else:
                    yield key, scan.value()
                if scan.peek() != ",":
                    break
                scan.take(",", "")
        scan.take("}", "Expecting ',' delimiter")
        if scan.peek() != "":
            raise scan.error("Extra data")
