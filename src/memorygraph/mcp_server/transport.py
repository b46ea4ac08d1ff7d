"""The stdio transport: one JSON-RPC message a line, and an answer to every request.

The SDK's `stdio_server` (mcp 2.3) hands a line it cannot parse to the session
as an exception, which the session logs at DEBUG and drops: the client gets no
answer and waits until its own timeout. Three kinds of line end that way though
the request is well meant: text with a lone surrogate escape (`"\\ud800"`) or
bytes that are not UTF-8 (the SDK replaces those silently), and nesting deeper
than its JSON parser's recursion limit (about 200). It also reads a line of any
length into memory. Upstream (modelcontextprotocol/python-sdk), a line that
fails to parse should be answered with a JSON-RPC parse error (`id` null, or
the request's `id` when it can be read), and the line length should be bounded.

Until it is, this module reads stdin itself, and the SDK's session runs on
top of it unchanged:

- a line longer than `Limits.max_request_bytes` is skipped unread past its
  first bytes and answered with `too_large`;
- a line the SDK's parser refuses is parsed again by Python's `json` (which
  keeps lone surrogates; bytes that are not UTF-8 become lone surrogates too),
  after a scan that refuses nesting deeper than `Limits.max_depth`; the
  message then goes to the session, whose tools refuse text that is not
  Unicode, naming the argument (`limits.check_arguments`);
- what still cannot be read is answered with a JSON-RPC error.

A request to `tools/call` is answered with a tool error of the one shape
(`faults.py`); any other request with a JSON-RPC error whose `data` holds the
same object. A line with no readable `id` gets a parse error with `id` null.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, Any, Final

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from memorygraph.mcp_server.faults import Fault
from memorygraph.mcp_server.limits import Limits

#: How much of a refused line is scanned for its id, method and the field at fault.
SCAN_BYTES: Final = 256 * 1024
#: The levels a tool's arguments sit under in a message: the message, params, arguments.
ENVELOPE_DEPTH: Final = 3
#: Strings (possibly cut off at the end), punctuation, numbers and literals of JSON text.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\]:,]|-?[0-9][0-9.eE+-]*|true|false|null', re.S)


@dataclass
class _Frame:
    is_object: bool
    key: str | int | None
    expect_key: bool


@dataclass
class LineFacts:
    """What a scan of a (possibly cut off) line found: the request's id and method, the
    tool it calls, where it first nests too deep, and the field it was reading last."""

    id: int | str | None = None
    method: str | None = None
    tool: str | None = None
    too_deep_at: list[str | int] | None = None
    last_field: list[str | int] = field(default_factory=list)


def scan(text: str, max_depth: int) -> LineFacts:
    """The facts of JSON text `text` without parsing it whole: a linear pass over its
    tokens that never recurses, so any nesting and any cut-off end are safe."""
    facts = LineFacts()
    stack: list[_Frame] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token in "{[":
            stack.append(_Frame(token == "{", 0 if token == "[" else None, token == "{"))
            if len(stack) > max_depth and facts.too_deep_at is None:
                facts.too_deep_at = [f.key for f in stack[:-1] if f.key is not None]
        elif token in "}]":
            if stack:
                stack.pop()
        elif token == ":":
            if top is not None:
                top.expect_key = False
        elif token == ",":
            if top is not None and top.is_object:
                top.expect_key = True
            elif top is not None and isinstance(top.key, int):
                top.key += 1
        elif top is not None and top.is_object and top.expect_key:
            top.key = _string(token)
        else:
            _note_value(facts, stack, token)
    facts.last_field = [f.key for f in stack if f.key is not None]
    return facts


def _string(token: str) -> str:
    if len(token) < 2 or not token.endswith('"'):
        return token[1:]
    try:
        return str(json.loads(token))
    except ValueError:
        return token[1:-1]


def _note_value(facts: LineFacts, stack: list[_Frame], token: str) -> None:
    keys = [f.key for f in stack]
    if keys == ["id"]:
        facts.id = _string(token) if token.startswith('"') else _number(token)
    elif keys == ["method"] and token.startswith('"'):
        facts.method = _string(token)
    elif keys == ["params", "name"] and token.startswith('"'):
        facts.tool = _string(token)


def _number(token: str) -> int | None:
    try:
        return int(token)
    except ValueError:
        return None


def _field(path: list[str | int] | None, facts: LineFacts, parts: int = 64) -> str | None:
    """`path` (its first `parts` names at most) as a field name: relative to the tool's
    arguments in a tool call."""
    if not path:
        return None
    if facts.method == "tools/call" and path[:2] == ["params", "arguments"]:
        path = path[2:]
    return ".".join(str(p) for p in path[:parts]) or None


def answer(facts: LineFacts, fault: Fault, rpc_code: int) -> SessionMessage:
    """The answer to a line refused for `fault`: a tool error to a tool call, a JSON-RPC
    error (with the fault as its data) to anything else."""
    if facts.id is not None and facts.method == "tools/call":
        result = fault.result().model_dump(mode="json", by_alias=True, exclude_none=True)
        return SessionMessage(JSONRPCResponse(jsonrpc="2.0", id=facts.id, result=result))
    error = ErrorData(code=rpc_code, message=fault.text(), data=fault.structured())
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=facts.id, error=error))


def oversized(head: bytes, size: int, limits: Limits) -> SessionMessage:
    """The answer to a line of `size` bytes or more, of which `head` was read."""
    facts = scan(head[:SCAN_BYTES].decode("utf-8", "replace"), limits.max_depth + ENVELOPE_DEPTH)
    fault = Fault(
        code="too_large",
        field=_field(facts.last_field, facts),
        reason=f"the request is {size:,} bytes or more, over the limit max_request_bytes = "
        f"{limits.max_request_bytes:,}",
        next_step="send less in one call, for example split the content into several memories",
    )
    return answer(facts, fault, INVALID_REQUEST)


def parse_line(line: bytes, limits: Limits) -> tuple[SessionMessage | None, SessionMessage | None]:
    """`line` as a message for the session, or else the answer to send back."""
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_json(line, by_name=False)), None
    except ValidationError:
        pass
    text = line.decode("utf-8", "surrogateescape")
    depth = limits.max_depth + ENVELOPE_DEPTH
    facts = scan(text, depth)
    if facts.too_deep_at is not None:
        fault = Fault(
            code="too_large",
            field=_field(facts.too_deep_at, facts, parts=2),
            reason=f"the request nests more than {depth} levels deep, over the limit "
            f"max_depth = {limits.max_depth} (for arguments)",
            next_step="send flatter arguments",
        )
        return None, answer(facts, fault, INVALID_PARAMS)
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError) as e:
        where = f" ({e.msg} at character {e.pos})" if isinstance(e, json.JSONDecodeError) else ""
        fault = Fault(
            code="invalid_argument",
            reason=f"the line is not JSON{where}",
            next_step="send one JSON-RPC message per line, as UTF-8 JSON",
        )
        return None, answer(LineFacts(id=facts.id), fault, PARSE_ERROR)
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_python(data, by_name=False)), None
    except ValidationError as e:
        first = e.errors()[0]
        fault = Fault(
            code="invalid_argument",
            field=".".join(str(p) for p in first["loc"][1:]) or None,
            reason=f"not a JSON-RPC message: {first['msg']}",
            next_step="send a JSON-RPC 2.0 request, notification or response",
        )
        return None, answer(LineFacts(id=facts.id), fault, INVALID_REQUEST)


def _read_line(wire: IO[bytes], limit: int) -> tuple[bytes, int]:
    """The next line (at most `limit` + 1 bytes of it), and its whole length: the rest
    of a longer line is read and dropped in pieces, never held."""
    line = wire.readline(limit + 1)
    size = len(line)
    if size > limit and not line.endswith(b"\n"):
        while True:
            rest = wire.readline(2**20)
            size += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
    return line, size


@asynccontextmanager
async def stdio_streams(
    limits: Limits,
) -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[Any]]
]:
    """The session's read and write streams over this process's stdin and stdout.

    While serving, file descriptor 1 points at stderr, so stray output of a library
    never corrupts the protocol; the wire is a private duplicate of the original."""
    wire_out_fd = os.dup(1)
    os.dup2(2, 1)
    wire_in = os.fdopen(os.dup(0), "rb", buffering=2**16)
    wire_out = os.fdopen(wire_out_fd, "wb")
    read_send, read_receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](0)
    one_writer = anyio.Lock()  # the session's messages and the refusals share the wire

    async def write(message: SessionMessage) -> None:
        data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
        payload = data.encode("utf-8", "surrogateescape") + b"\n"
        async with one_writer:
            await anyio.to_thread.run_sync(_write, wire_out, payload)

    async def reader() -> None:
        async with read_send:
            while True:
                line, size = await anyio.to_thread.run_sync(
                    _read_line, wire_in, limits.max_request_bytes, abandon_on_cancel=True
                )
                if not line:
                    return
                if size > limits.max_request_bytes:
                    await write(oversized(line, size, limits))
                    continue
                if not line.strip():
                    continue
                message, refusal = parse_line(line, limits)
                if message is not None:
                    await read_send.send(message)
                elif refusal is not None:
                    await write(refusal)

    async def writer() -> None:
        async with write_receive:
            async for message in write_receive:
                await write(message)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(writer)
            yield read_receive, write_send
            tg.cancel_scope.cancel()
    finally:
        with suppress(OSError):
            os.dup2(wire_out_fd, 1)
        with suppress(OSError):
            wire_out.close()
        with suppress(OSError):
            wire_in.close()


def _write(wire: IO[bytes], payload: bytes) -> None:
    wire.write(payload)
    wire.flush()
