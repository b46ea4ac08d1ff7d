"""Load a whole memory graph into an empty FalkorDB graph with ``GRAPH.BULK``.

``GRAPH.BULK`` is FalkorDB's binary bulk-insert command (the one the
falkordb-bulk-loader tool sends). It builds nodes and edges straight from
typed binary values, with no Cypher to plan and no index to consult, so it is
the fastest way into an *empty* graph. This module writes exactly what
`FalkorDBBackend` writes for each record (the same labels, edge type and
properties, `_written` included), so a graph loaded here reads back through the
backend with the same digests, and the backend opens it as its own.

The command::

    GRAPH.BULK key [BEGIN] node_count edge_count node_blob_count edge_blob_count
               node_blob... edge_blob...

``BEGIN`` goes on the first call only, and the server refuses it when the key
``key`` already exists: a bulk load creates its graph, it never adds to one.
Use a graph name that does not exist yet (and delete a failed attempt before
retrying). Every call is applied as a whole under the graph's write lock.

Each blob holds entities of one label (node blobs) or one relationship type
(edge blobs), all with the same property names:

* header: the label or type, NUL-terminated; the property count as a 4-byte
  unsigned integer; each property name NUL-terminated;
* nodes: one value per property, in header order;
* edges: the internal ids of the source and destination node (8-byte unsigned
  integers), then one value per property.

A value is one type byte followed by its payload: ``0`` null (no payload; the
server leaves the property out, as Cypher's ``SET n = {p: null}`` does),
``1`` boolean (one byte), ``2`` double (8 bytes), ``3`` string (UTF-8 bytes,
NUL-terminated), ``4`` integer (8 bytes, signed), ``5`` array (8-byte signed
length, then that many values). Numbers are little-endian here, as the server
reads them in its own (x86-64/ARM64: little-endian) byte order.

Limits that follow from the format:

* a string cannot contain NUL (U+0000): the server reads each string up to its
  first NUL byte. Records cannot hold NUL either (the models refuse it), so
  every valid record loads exactly; a value with NUL raises `ValueError`
  before anything is sent.
* maps are not values (the backend stores ``context`` as JSON text anyway);
  integers must fit in 64 bits.
* nodes get internal ids 0, 1, 2, … in the order they are sent (the graph is
  new, so nothing was deleted before them); edges name their ends by those ids,
  so a relationship can only be added once both its memories were added.

Calls are cut to `max_buffer_bytes` (64 MB by default, well under the 512 MB
Redis allows per argument), so the server never holds more than one such
command at a time. After the last call, `falkordb_load.create_schema` creates the indexes,
unique constraints and full-text index `FalkorDBBackend` creates at connect,
and waits until they are built.

The module runs a little past 500 lines because the encoder, the buffer that cuts
calls and the appender are one streaming path: each call's bytes are counted as they
are encoded.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from memorygraph.backends._cypher_layout import (
    EDGE_LABEL,
    MEMORY_LABEL,
    WRITTEN,
    encode_memory,
    encode_relationship,
)
from memorygraph.backends.falkordb_keys import DIALECT, KEY_PROPERTY
from memorygraph.canonical import CanonicalRecord
from memorygraph.errors import OperationError
from memorygraph.idindex import IdIndex
from memorygraph.models import Memory, Relationship, format_timestamp, utc_now

BI_NULL, BI_BOOL, BI_DOUBLE, BI_STRING, BI_LONG, BI_ARRAY = range(6)

#: Default cap on the bytes of one GRAPH.BULK call (all its blobs together).
DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024
#: Rows per call of `BulkAppender`: a batch goes in several calls, so the server applies
#: one while the next is encoded.
CALL_ROWS = 1000
#: The server reads the property count of a blob into 16 bits (and asserts below this).
MAX_PROPERTIES = 65534
#: How long `create_schema` waits for the server to build indexes on a loaded graph.
SCHEMA_TIMEOUT = 600.0

_NULL = bytes([BI_NULL])
_TRUE = bytes([BI_BOOL, 1])
_FALSE = bytes([BI_BOOL, 0])
_DOUBLE = struct.Struct("<Bd")
_LONG = struct.Struct("<Bq")
_ARRAY = struct.Struct("<Bq")
_COUNT = struct.Struct("<I")
_ENDS = struct.Struct("<QQ")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _cstring(text: str, what: str) -> bytes:
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError(
            f"{what} contains NUL (U+0000), which GRAPH.BULK cannot send "
            "(the server ends each string at its first NUL)"
        )
    return data + b"\0"


def encode_value(value: Any, out: bytearray) -> None:
    """Append `value` in GRAPH.BULK's binary form to `out`.

    None, bool, int (64-bit), float, str (without NUL) and lists/tuples of
    those; anything else raises `TypeError` or `ValueError`.
    """
    kind = type(value)  # the exact types first: what JSON decodes to, most of the rows
    if kind is str:
        if "\0" in value:
            _cstring(value, "a string")  # raises
        out.append(BI_STRING)
        out += value.encode("utf-8")
        out.append(0)
    elif value is None:
        out += _NULL
    elif kind is float:
        out += _DOUBLE.pack(BI_DOUBLE, value)
    elif kind is list:
        out += _ARRAY.pack(BI_ARRAY, len(value))
        for item in value:
            encode_value(item, out)
    else:
        _encode_other(value, out)


def _encode_row(row: Mapping[str, Any], columns: Sequence[str], out: bytearray) -> None:
    """Append the values of `row` for `columns` (absent: null), as `encode_value` would."""
    for column in columns:
        value = row.get(column)
        # Strings and nulls are most of a record: encoded here, without a call each.
        if type(value) is str and "\0" not in value:
            out.append(BI_STRING)
            out += value.encode("utf-8")
            out.append(0)
        elif value is None:
            out += _NULL
        else:
            encode_value(value, out)


def _encode_other(value: Any, out: bytearray) -> None:
    if isinstance(value, str):
        out.append(BI_STRING)
        out += _cstring(value, "a string")
    elif value is True:
        out += _TRUE
    elif value is False:
        out += _FALSE
    elif isinstance(value, int):
        if not _LONG_MIN <= value <= _LONG_MAX:
            raise ValueError(f"integer {value} does not fit in 64 bits")
        out += _LONG.pack(BI_LONG, value)
    elif isinstance(value, float):
        out += _DOUBLE.pack(BI_DOUBLE, value)
    elif isinstance(value, list | tuple):
        out += _ARRAY.pack(BI_ARRAY, len(value))
        for item in value:
            encode_value(item, out)
    else:
        raise TypeError(f"GRAPH.BULK cannot send a {type(value).__name__} as a property value")


def encode_header(name: str, properties: Sequence[str]) -> bytes:
    """A blob's header: label or type, property count, property names."""
    if len(properties) > MAX_PROPERTIES:
        raise ValueError(f"{len(properties)} properties; GRAPH.BULK takes at most {MAX_PROPERTIES}")
    parts = [_cstring(name, "a label"), _COUNT.pack(len(properties))]
    parts += [_cstring(p, "a property name") for p in properties]
    return b"".join(parts)


@dataclass
class _Blob:
    """Entities of one label or type with one list of property names."""

    name: str
    columns: list[str]
    header: bytes
    names: frozenset[str] = frozenset()
    entities: list[bytearray] = field(default_factory=list)
    size: int = 0

    def to_bytes(self) -> bytes:
        return self.header + b"".join(self.entities)


@dataclass(frozen=True)
class BulkResult:
    """What a bulk load sent: nodes, edges and GRAPH.BULK calls."""

    nodes: int
    edges: int
    calls: int


class BulkLoader:
    """Feeds batches of property rows into a new graph, GRAPH.BULK call by call.

    `client` is a `redis.asyncio.Redis` connected to the FalkorDB server (with
    ``decode_responses=True``, as the backend's); `graph_name` must not exist
    yet. Add every memory row with `add_memories` before the relationships that
    touch it (`add_relationships`), then `finish`. A memory row is the node's
    property map (`memory_rows` builds them as the backend does); a
    relationship row is ``{"key", "from", "to", "props"}`` with the ends as
    memory keys (`relationship_rows`).

    Rows are encoded as they arrive and sent whenever the pending bytes
    would pass `max_buffer_bytes` (or at `flush`), so memory stays bounded by
    that buffer: the map from each memory key to its node id, and the edge keys
    sent, are kept on disk (`IdIndex`), not in memory. `close` removes them.

    `append` adds to the existing graph `graph_name` instead (no ``BEGIN``).
    The server may then give nodes ids other than the next ones (it reuses the
    ids of deleted nodes first), so the loader keeps no map of keys: each
    relationship batch comes with the node ids of its ends as the server reports
    them (`BulkAppender` asks it), and the caller has proven its keys new and
    unique.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        graph_name: str,
        *,
        max_buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        append: bool = False,
    ) -> None:
        self.client = client
        self.graph_name = graph_name
        self.max_buffer_bytes = max_buffer_bytes
        self.append = append
        # Memory key → node id ("memory"), and the edge keys sent ("edge"): on disk,
        # since a graph of a million memories would hold ~150 MB of them in a dict.
        self._keys = IdIndex()
        self._nodes: list[_Blob] = []
        self._edges: list[_Blob] = []
        self._pending_nodes = 0
        self._pending_edges = 0
        self._pending_bytes = 0
        self._sent_nodes = 0
        self._sent_edges = 0
        self._calls = 0
        # The connection calls sent ahead went on, and how many of them were not answered.
        self._connection: Any = None
        self._unanswered = 0

    # --- rows ------------------------------------------------------------------

    async def add_memories(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add one node labelled Memory per row (its properties); rows need `_key`."""
        rows = list(rows)
        if not self.append:
            # A new graph's nodes get ids in the order added: the next is one past
            # those sent and pending.
            first = self._sent_nodes + self._pending_nodes
            repeated = self._keys.add(
                "memory", [(row[KEY_PROPERTY], first + i) for i, row in enumerate(rows)]
            )
            if repeated:
                raise ValueError(f"memory key {repeated[0][0]!r} was already added")
        for row in rows:
            data = bytearray()
            blob = self._blob(self._nodes, MEMORY_LABEL, row)
            _encode_row(row, blob.columns, data)
            if self._full(len(data)):
                await self._send()
                blob = self._blob(self._nodes, MEMORY_LABEL, row)
            blob.entities.append(data)
            blob.size += len(data)
            self._pending_nodes += 1
            self._pending_bytes += len(data)

    async def add_relationships(
        self, rows: Iterable[Mapping[str, Any]], node_ids: Mapping[str, int] | None = None
    ) -> None:
        """Add one RELATIONSHIP edge per row, between memories added before (`node_ids`:
        their node ids by key, when the caller has looked them up already; an append's
        caller always has)."""
        rows = list(rows)
        if node_ids is None:
            if self.append:
                raise ValueError("an append names the node ids of the relationships' ends")
            node_ids = self.node_ids([end for row in rows for end in (row["from"], row["to"])])
        if not self.append:
            # An append's caller has proven its ids new and unique (a migration's
            # batches); a new graph's loader checks them.
            repeated = self._keys.add("edge", [(row["key"], 0) for row in rows])
            if repeated:
                raise ValueError(f"relationship key {repeated[0][0]!r} was already added")
        for row in rows:
            key = row["key"]
            try:
                ends = _ENDS.pack(node_ids[row["from"]], node_ids[row["to"]])
            except KeyError as e:
                raise ValueError(
                    f"relationship {key!r} names memory key {e.args[0]!r}, which was not "
                    "added before it"
                ) from None
            props = row["props"]
            data = bytearray(ends)
            blob = self._blob(self._edges, EDGE_LABEL, props)
            _encode_row(props, blob.columns, data)
            if self._full(len(data)):
                await self._send()
                blob = self._blob(self._edges, EDGE_LABEL, props)
            blob.entities.append(data)
            blob.size += len(data)
            self._pending_edges += 1
            self._pending_bytes += len(data)

    def _blob(self, blobs: list[_Blob], name: str, row: Mapping[str, Any]) -> _Blob:
        """The open blob for `row`: the last one, unless `row` has a property it lacks."""
        if blobs:
            last = blobs[-1]
            if row.keys() <= last.names:
                return last
            columns = last.columns + [k for k in row if k not in last.names]
        else:
            columns = list(row)
        header = encode_header(name, columns)
        blob = _Blob(name, columns, header, frozenset(columns), size=len(header))
        blobs.append(blob)
        self._pending_bytes += len(header)
        return blob

    def node_ids(self, keys: Iterable[str]) -> dict[str, int]:
        """The internal id the node of each memory key among `keys` that was added was
        (or will be) given."""
        return self._keys.lines("memory", keys)

    def close(self) -> None:
        """Remove the on-disk map of keys (the loader cannot be used after)."""
        self._keys.close()

    def _full(self, size: int) -> bool:
        """True when adding `size` bytes would pass the buffer and something is pending."""
        return bool(self._pending_nodes + self._pending_edges) and (
            self._pending_bytes + size > self.max_buffer_bytes
        )

    # --- sending ---------------------------------------------------------------

    async def _send(self) -> None:
        nodes = [b for b in self._nodes if b.entities]
        edges = [b for b in self._edges if b.entities]
        if not nodes and not edges:
            return
        args: list[Any] = ["GRAPH.BULK", self.graph_name]
        if self._calls == 0 and not self.append:
            args.append("BEGIN")
        args += [self._pending_nodes, self._pending_edges, len(nodes), len(edges)]
        args += [b.to_bytes() for b in nodes] + [b.to_bytes() for b in edges]
        if self._connection is not None:
            # Sent ahead on the held connection, after the calls sent before it.
            await self._connection.send_command(*args)
            self._unanswered += 1
        else:
            await self.client.execute_command(*args)  # type: ignore[no-untyped-call]
        self._calls += 1
        self._sent_nodes += self._pending_nodes
        self._sent_edges += self._pending_edges
        # The next call starts with the same columns (one header each, no entities).
        self._nodes = [self._reopened(self._nodes[-1])] if self._nodes else []
        self._edges = [self._reopened(self._edges[-1])] if self._edges else []
        self._pending_nodes = self._pending_edges = 0
        self._pending_bytes = sum(b.size for b in self._nodes + self._edges)

    @staticmethod
    def _reopened(blob: _Blob) -> _Blob:
        return _Blob(blob.name, blob.columns, blob.header, blob.names, size=len(blob.header))

    async def flush(self) -> None:
        """Send what is pending now, in one call (nothing when nothing is)."""
        await self._send()

    async def send_ahead(self) -> None:
        """Send what is pending now, in one call, without waiting for the server to
        apply it: the caller encodes the next rows meanwhile. Calls sent ahead go on
        one connection, so the server applies them in the order sent; `settle` waits
        for them."""
        if self._connection is None:
            pool = self.client.connection_pool
            self._connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        await self._send()

    async def settle(self) -> None:
        """Return once the server has applied every call sent ahead; raise the first
        error one of them met (the calls after it were still applied)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        unanswered, self._unanswered = self._unanswered, 0
        failed: ResponseError | None = None
        answered = False
        try:
            for _ in range(unanswered):
                try:
                    await connection.read_response()
                except ResponseError as e:
                    failed = failed or e
            answered = True
        finally:
            if not answered:
                # Cancelled or broken half-way, replies may still be on their way: a
                # connection handed out again must not deliver them to its next user.
                await connection.disconnect(nowait=True)
            await self.client.connection_pool.release(connection)
        if failed is not None:
            raise failed

    async def finish(self) -> BulkResult:
        """Send what is pending; return the totals sent."""
        await self._send()
        return BulkResult(self._sent_nodes, self._sent_edges, self._calls)


# --- appending a backend's batches -------------------------------------------------

#: The node id of each memory key among $keys that the graph holds, found by its index.
_NODE_IDS = (
    f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{{KEY_PROPERTY}: key}}) "
    "RETURN collect([key, id(m)])"
)


class BulkTarget(Protocol):
    """What `BulkAppender` needs of the backend whose graph it appends to (a connected,
    writable `FalkorDBBackend`): its graph, its client, reads by id, and its errors."""

    @property
    def graph_name(self) -> str: ...

    def _require_client(self) -> aioredis.Redis: ...

    async def _by_keys(
        self, query: str, ids: Sequence[str], params: dict[str, Any] | None = None
    ) -> list[Any]: ...

    def _operation_error(self, e: BaseException, what: str) -> OperationError: ...

    def _lost(self, e: BaseException) -> OperationError: ...


class BulkAppender:
    """Appends batches of new records to a connected `FalkorDBBackend`'s graph with
    ``GRAPH.BULK`` (no ``BEGIN``: the graph, its indexes and constraints exist, and the
    server keeps the indexes up to date as it adds).

    Each batch goes in calls of `CALL_ROWS` rows, sent ahead on one connection
    (the server applies one while the next is encoded), all applied before
    `write_memories` / `write_relationships` return. The properties are the backend's own
    (`_encode_memory`, `_encode_relationship`, `_written`), so records read back
    exactly as if written by Cypher.

    Edges name their ends by internal node id: before a relationship batch is
    encoded, the server is asked the node id of each end by its key (through the
    key's index; the reply comes while the batch is encoded). Whatever ids the
    server gave the nodes (it reuses those of deleted nodes first), each edge joins
    the memories it names. A batch with an end the graph does not hold is refused
    (False) before anything is sent, for the backend to write with Cypher.
    """

    def __init__(self, backend: BulkTarget, client: aioredis.Redis):
        self.backend = backend
        self._loader = BulkLoader(client, backend.graph_name, append=True)

    def close(self) -> None:
        """Remove the loader's on-disk map of keys."""
        self._loader.close()

    @classmethod
    async def open(cls, backend: BulkTarget) -> BulkAppender:
        """An appender for `backend`'s graph (connected, writable)."""
        return cls(backend, backend._require_client())

    async def write_memories(self, memories: Sequence[CanonicalRecord]) -> bool:
        """Write these memories (none stored yet); True once they are."""
        now = format_timestamp(utc_now())
        rows = [{**encode_memory(DIALECT, m), WRITTEN: now} for m in memories]
        await self._sending(self._in_calls(rows, self._loader.add_memories))
        return True

    async def write_relationships(self, relationships: Sequence[CanonicalRecord]) -> bool:
        """Write these relationships (none stored yet) if the graph holds every end
        (else False, and nothing is sent)."""
        ends = list(
            {end: None for r in relationships for end in (r.data["from_id"], r.data["to_id"])}
        )
        # The server looks the ends up while this process encodes the batch.
        lookup = asyncio.ensure_future(self.backend._by_keys(_NODE_IDS, ends))
        try:
            now = format_timestamp(utc_now())
            rows = [encode_relationship(DIALECT, r) for r in relationships]
            for row in rows:
                row["props"][WRITTEN] = now
            node_ids: dict[str, int] = dict(await lookup)
        finally:
            if not lookup.done():  # encoding failed: the lookup is not wanted
                lookup.cancel()
                await asyncio.gather(lookup, return_exceptions=True)
        if len(node_ids) != len(ends):
            return False
        await self._sending(
            self._in_calls(rows, lambda part: self._loader.add_relationships(part, node_ids))
        )
        return True

    async def _in_calls(
        self, rows: list[dict[str, Any]], add: Callable[[list[dict[str, Any]]], Awaitable[None]]
    ) -> None:
        """Add `rows` in calls of `CALL_ROWS`, each sent ahead while the next is encoded,
        and return once the server has applied them all."""
        try:
            for start in range(0, len(rows), CALL_ROWS):
                await add(rows[start : start + CALL_ROWS])
                await self._loader.send_ahead()
        finally:
            await self._loader.settle()

    async def _sending(self, step: Awaitable[None]) -> None:
        try:
            await step
        except ResponseError as e:
            raise self.backend._operation_error(e, "bulk-insert") from e
        except (RedisError, OSError) as e:
            raise self.backend._lost(e) from e


# --- rows as the backend writes them ------------------------------------------------


def memory_rows(memories: Iterable[Memory], written: str | None = None) -> list[dict[str, Any]]:
    """The node properties `FalkorDBBackend` writes for each memory (`_written` = `written`)."""
    now = written or format_timestamp(utc_now())
    return [{**encode_memory(DIALECT, CanonicalRecord.of(m)), WRITTEN: now} for m in memories]


def relationship_rows(
    relationships: Iterable[Relationship], written: str | None = None
) -> list[dict[str, Any]]:
    """``{"key", "from", "to", "props"}`` per relationship, props as the backend writes them."""
    now = written or format_timestamp(utc_now())
    rows = []
    for relationship in relationships:
        row = encode_relationship(DIALECT, CanonicalRecord.of(relationship))
        row["props"] = {**row["props"], WRITTEN: now}
        rows.append(row)
    return rows


__all__ = [
    "BI_ARRAY",
    "BI_BOOL",
    "BI_DOUBLE",
    "BI_LONG",
    "BI_NULL",
    "BI_STRING",
    "BulkAppender",
    "BulkLoader",
    "BulkResult",
    "encode_header",
    "encode_value",
    "memory_rows",
    "relationship_rows",
]
