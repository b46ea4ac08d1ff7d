"""FalkorDB backend: a FalkorDB server reached over the Redis protocol.

Uses the `falkordb` package's asyncio graph API over a `redis.asyncio`
connection that this module builds itself: connect and socket timeouts come
from `config.timeout_seconds`, and automatic retries are off, so an
unreachable server, a wrong port or a wrong password fails once, fast, with a
one-line `BackendConnectionError`. (The `falkordb.asyncio.FalkorDB`
constructor would also probe the server with a *blocking* call to detect a
cluster; clusters are not supported here, so it is not used.)

The server is located by `config.uri` (forms in `falkordb_location`): one
server directly, or the Redis Sentinels of a service, which name its primary.
Behind Sentinels the backend follows a failover: a statement that the old
primary never ran (it could not be reached, or it answered READONLY as a
demoted primary) is sent again to the primary the Sentinels name next, for up
to `FAILOVER_PATIENCE` seconds. A write whose connection broke after it was
sent is not sent again (see `_write`). Where replicas must hold each write
(`min_replicas`; behind Sentinels by default one whenever the primary has a
replica online), a
write returns only after ``WAIT`` confirms it reached them, so a failover to a
replica loses no write that returned; otherwise it raises `ReplicationError`.

The graph is `config.database` or ``memorygraph``. Unique constraints on
``Memory.id`` and ``RELATIONSHIP.id`` are created at connect with
``GRAPH.CONSTRAINT CREATE`` (FalkorDB has no Cypher syntax for them), on top of
the exact-match (range) indexes they require. Both are built asynchronously by
the server; connect waits until they are operational.

Search uses a full-text (RediSearch) index on ``Memory._st`` and ``Memory._sb``
created with ``db.idx.fulltext.createNodeIndex``: no stop words, no stemming
(the indexed text is already analyzed, see `memorygraph.search.text`), title
weighted as the shared scorer weights it. It is updated with every write.

The module runs past 500 lines because connecting (a single server or Sentinels),
failover, replica acknowledgement (`WAIT`) and the statements' reply decoding are one
connection's life: each retry and each reply depends on the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import orjson
import redis.asyncio as aioredis
from falkordb.asyncio.graph import AsyncGraph
from falkordb.asyncio.query_result import QueryResult
from falkordb.helpers import stringify_param_value
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    BusyLoadingError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from memorygraph.backends._cypher import CypherBackend
from memorygraph.backends._cypher_layout import (
    BODY_TERMS,
    EDGE_LABEL,
    MEMORY_FIELDS,
    MEMORY_LABEL,
    RELATIONSHIP_FIELDS,
    TITLE_TERMS,
    WRITTEN,
    CypherDialect,
    chunks,
)
from memorygraph.backends.falkordb_bulk import BulkAppender
from memorygraph.backends.falkordb_keys import DIALECT as DIALECT
from memorygraph.backends.falkordb_keys import KEY_PROPERTY as KEY_PROPERTY
from memorygraph.backends.falkordb_keys import encode_key as encode_key
from memorygraph.backends.falkordb_location import (
    ACCEPTED_FORMS,
    FalkorLocation,
    parse_location,
)
from memorygraph.canonical import CanonicalRecord, RecordKind
from memorygraph.errors import (
    BackendConnectionError,
    BackendOperationError,
    ConfigurationError,
    IntegrityError,
    OperationError,
    ReplicationError,
)
from memorygraph.search.ranking import TITLE_WEIGHT, MatchQuery

#: Candidates the vector index visits per query (HNSW efRuntime): at 100,000 memories
#: the nearest 50 then match an exact scan's.
VECTOR_EF = 200

DEFAULT_GRAPH = "memorygraph"

#: Socket timeout for statements once connected: generous, because one batch
#: may legitimately take seconds, but finite so a frozen server cannot hang us.
OPERATION_TIMEOUT = 300.0
#: How long connect waits for the server to finish building indexes/constraints.
SCHEMA_TIMEOUT = 120.0
#: How long a statement waits for the Sentinels to name a primary that takes it.
FAILOVER_PATIENCE = 30.0
#: Pause between asking the Sentinels again while they still name a dead primary.
FOLLOW_PAUSE = 0.2
#: Seconds between asking the primary how many replicas it has online, when that
#: decides how many replicas a write waits for.
REPLICA_RECHECK = 5.0

_MAX_MESSAGE = 300
#: Ids per statement of a read by id. A read of more runs two statements at a time,
#: so the server answers one while this process decodes the other.
READ_CHUNK = 1000

#: Value type codes of FalkorDB's compact reply (``--compact``): each value is [code, value].
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY, _MAP = 1, 2, 3, 4, 5, 6, 10
#: The value types whose compact reply is already the Python value.
_AS_IS = frozenset({_NULL, _STRING})


#: What a digest reads of a memory node and of an edge: the values of the record's fields
#: (and the exact floats), by position. A list, not a map: the reply then carries no
#: property names, a quarter of what a verification reads.
_MEMORY_COLUMNS = (*MEMORY_FIELDS, "_floats")
_EDGE_COLUMNS = (*(f for f in RELATIONSHIP_FIELDS if f not in ("from_id", "to_id")), "_floats")
_MEMORY_LIST = "[" + ", ".join(f"m.`{name}`" for name in _MEMORY_COLUMNS) + "]"
#: Internal properties an edge of this backend holds beside its columns.
_EDGE_INTERNAL = ("changed_at", KEY_PROPERTY, WRITTEN)
#: An edge's values, its ends' ids, and how many properties it holds beyond those
#: columns and internal properties (normally none; nulls are never stored).
_EDGE_LIST = (
    "["
    + ", ".join(f"r.`{name}`" for name in _EDGE_COLUMNS)
    + ", a.id, b.id, size(keys(r)) - size([x IN ["
    + ", ".join(f"r.`{name}`" for name in (*_EDGE_COLUMNS, *_EDGE_INTERNAL))
    + "] WHERE x IS NOT NULL])]"
)


class _NotPlain(Exception):
    """A compact reply holds a value other than a scalar, list or map (a node, a point…)."""


def _plain(cell: list[Any]) -> Any:
    """One compact ``[code, value]`` as the Python value the falkordb client would give."""
    code, value = cell
    if code in _AS_IS:
        return value
    if code == _INTEGER:
        return int(value)
    if code == _BOOLEAN:
        return value == "true"
    if code == _DOUBLE:
        return float(value)
    if code == _ARRAY:
        return [c[1] if c[0] in _AS_IS else _plain(c) for c in value]
    if code == _MAP:
        items = iter(value)
        # Most values of a record are strings or nulls: taken as they are, without a call.
        return {
            key: c[1] if c[0] in _AS_IS else _plain(c) for key, c in zip(items, items, strict=True)
        }
    raise _NotPlain(code)


def compact_rows(reply: list[Any]) -> list[list[Any]]:
    """The rows of a compact ``GRAPH.RO_QUERY`` reply holding only plain values.

    The falkordb client decodes every value through a coroutine of its own,
    which took most of the time of a large read; the plain values every read
    here returns (strings, numbers, booleans, nulls, lists and maps) decode in
    one recursive pass instead. Raises `ResponseError` for an error in the
    reply and `_NotPlain` for anything else (nodes, edges, paths, points,
    temporal values), which the client decodes.
    """
    if isinstance(reply[0], ResponseError):
        raise reply[0]
    if isinstance(reply[-1], ResponseError):
        raise reply[-1]
    if len(reply) == 1:  # statistics only: nothing returned
        return []
    return [[_plain(cell) for cell in row] for row in reply[1]]


def params_header(params: dict[str, Any] | None) -> str:
    """The ``CYPHER name=value …`` prefix carrying `params`, as the falkordb client writes it."""
    if not params:
        return ""
    return "CYPHER " + "".join(f"`{k}`={stringify_param_value(v)} " for k, v in params.items())


class _NotRun(Exception):
    """The statement did not run: the server was not reached, or refused it unread."""


async def _command(client: aioredis.Redis, *args: str) -> Any:
    """One raw Redis command (redis-py leaves `execute_command` untyped)."""
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


class FalkorDBBackend(CypherBackend):
    """Memories in a FalkorDB graph (see `memorygraph.backends._cypher` for the layout)."""

    batch_size: ClassVar[int] = 2000
    dialect: ClassVar[CypherDialect] = DIALECT

    _client: aioredis.Redis | None = None
    _graph: AsyncGraph | None = None
    _bulk: BulkAppender | None = None
    _location: FalkorLocation | None = None
    _sentinel: Sentinel | None = None
    #: The primary the client is connected to, when the Sentinels named it.
    _primary: tuple[str, int] | None = None
    #: Replicas each write waits for (`WAIT`), and when the Sentinels were last asked.
    _replicas: int = 0
    _replicas_checked: float = 0.0
    _follow_lock: asyncio.Lock | None = None

    @property
    def graph_name(self) -> str:
        return self.config.database or DEFAULT_GRAPH

    # --- lifecycle -------------------------------------------------------------

    async def connect(self) -> None:
        if self._graph is not None:
            return
        assert self.config.uri is not None  # config.validate() checked it
        try:
            location = parse_location(self.config.uri)
        except ConfigurationError as e:
            raise ConfigurationError(f"{self.describe()}: {e.problem}", field="uri") from e
        self._location = location
        if not location.uses_sentinel:
            assert location.server_uri is not None
            await self._open(location.server_uri, self.config.password)
            self._replicas = location.min_replicas or 0
            return
        timeout = self.config.timeout_seconds
        self._follow_lock = asyncio.Lock()
        self._sentinel = Sentinel(
            location.sentinels,
            sentinel_kwargs={
                "username": location.sentinel_username,
                "password": location.sentinel_password,
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                "decode_responses": True,
            },
        )
        try:
            self._primary = await self._ask_primary()
            await self._open(_address_uri(self._primary), self.config.password)
            await self._count_replicas()
        except BaseException:
            await self.close()
            raise

    async def _ask_primary(self) -> tuple[str, int]:
        """The primary's address as the Sentinels name it now."""
        assert self._sentinel is not None and self._location is not None
        assert self._location.service is not None
        try:
            host, port = await self._sentinel.discover_master(self._location.service)
        except (RedisError, OSError) as e:
            raise BackendConnectionError(
                f"cannot connect to {self.describe()}: no Sentinel named a primary for "
                f"{self._location.service!r} ({self._safe(e)}); check the Sentinel "
                "addresses, the service name and the Sentinels' password"
            ) from e
        return str(host), int(port)

    async def _count_replicas(self) -> None:
        """Decide how many replicas each write waits for: `min_replicas` when the URI
        gives it, else one whenever the primary has a replica online.

        The primary's own ``INFO replication`` is asked, not the Sentinels: they
        refresh what they know of a replica only every ten seconds, and right
        after a failover they still list the dead old primary as a replica.
        """
        assert self._location is not None
        self._replicas_checked = time.monotonic()
        if self._location.min_replicas is not None:
            self._replicas = self._location.min_replicas
            return
        client = self._require_client()
        try:
            info = await client.info("replication")
        except (RedisError, OSError):
            return  # keep the last answer: a write waits for what it waited for
        online = [
            v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
            and v.get("state") == "online"
        ]  # fmt: skip
        self._replicas = 1 if online else 0

    def _client_for(self, uri: str, password: str | None) -> aioredis.Redis:
        timeout = self.config.timeout_seconds
        try:
            pool = aioredis.ConnectionPool.from_url(
                uri,
                password=password,
                decode_responses=True,
                socket_connect_timeout=timeout,
                socket_timeout=OPERATION_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
                # RESP2, as the falkordb client itself uses: its result parsing
                # expects it, and redis-py's pure-Python RESP2 parser is ~25%
                # faster than its RESP3 one (`hiredis`, if installed, is ~5x).
                protocol=2,
            )
        except ValueError as e:
            raise BackendConnectionError(
                f"cannot connect to {self.describe()}: bad uri ({self._safe(e)}); "
                f"use {ACCEPTED_FORMS}"
            ) from e
        return aioredis.Redis(connection_pool=pool)

    async def _open(self, uri: str, password: str | None) -> None:
        """Connect to the server at `uri`, check it runs FalkorDB, create the schema."""
        timeout = self.config.timeout_seconds
        client = self._client_for(uri, password)
        try:
            await asyncio.wait_for(self._check_server(client), timeout)
        except Exception as e:
            await client.aclose()
            raise self._connection_error(e) from e
        self._client = client
        self._graph = AsyncGraph(client, self.graph_name)
        try:
            # Before any schema: another tool's graph is left exactly as it is.
            await self._refuse_foreign_graph()
            if not self.config.read_only:
                await self._create_schema()
            if not self.config.read_only:
                await self._complete_namespaces()
        except BaseException:
            await self.close()  # a half-open backend must not leak its connection
            raise

    async def _check_server(self, client: aioredis.Redis) -> None:
        deadline = time.monotonic() + self.config.timeout_seconds
        while True:
            try:
                await client.ping()
                break
            except BusyLoadingError:
                # Restarting from a large AOF; it answers once loaded.
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        if not await self._module_version(client):
            raise BackendConnectionError(
                f"cannot connect to {self.describe()}: it is a Redis server without the "
                "FalkorDB module; point the uri at a FalkorDB server"
            )

    def _connection_error(self, e: BaseException) -> BackendConnectionError:
        where = self.describe()
        if isinstance(e, BackendConnectionError):
            return e
        if isinstance(e, TimeoutError | asyncio.TimeoutError):
            reason = f"no answer within {self.config.timeout_seconds:g}s"
        elif isinstance(e, AuthenticationError | AuthorizationError) or (
            isinstance(e, ResponseError) and "NOAUTH" in str(e)
        ):
            reason = "the server refused the password (check FALKORDB_PASSWORD or the URI)"
        else:
            reason = self._safe(e) or type(e).__name__
        return BackendConnectionError(f"cannot connect to {where}: {reason}")

    def _lost(self, e: BaseException) -> OperationError:
        """The error for a connection that broke in the middle of a statement."""
        return BackendConnectionError(f"lost the connection to {self.describe()}: {self._safe(e)}")

    def _lost_during_write(self, e: BaseException) -> OperationError:
        """The error for a connection that broke after a write statement was sent."""
        return BackendConnectionError(
            f"lost the connection to {self.describe()} during a write, which may or "
            f"may not be stored: {self._safe(e)}; read it back before writing it again"
        )

    async def close(self) -> None:
        client, self._client, self._graph = self._client, None, None
        sentinel, self._sentinel = self._sentinel, None
        clients = [client] if client is not None else []
        clients += sentinel.sentinels if sentinel is not None else []
        for each in clients:
            # Closing a connection to a dead server has nothing left to release.
            with contextlib.suppress(RedisError, OSError):
                await each.aclose()

    async def _follow_primary(self, failed: aioredis.Redis) -> None:
        """Connect to the primary the Sentinels name now, unless another statement did
        since `failed` (the client it failed on); pause while they still name the same."""
        assert self._follow_lock is not None
        async with self._follow_lock:
            if self._client is not failed:
                return  # another statement already followed
            try:
                primary = await self._ask_primary()
            except BackendConnectionError:
                primary = None  # between judging the primary down and promoting a replica
            moved = primary is not None and primary != self._primary
            if moved:
                assert primary is not None
                client = self._client_for(_address_uri(primary), self.config.password)
                self._client, self._graph = client, AsyncGraph(client, self.graph_name)
                self._primary = primary
                await self._count_replicas()
        if not moved:
            # Not failed over yet (a primary is judged down only after a while).
            await asyncio.sleep(FOLLOW_PAUSE)
            return
        with contextlib.suppress(RedisError, OSError):
            await failed.aclose()

    async def engine_version(self) -> str:
        client = self._require_client()
        try:
            version = await self._module_version(client)
            info = await client.info("server")
        except RedisError as e:
            raise self._operation_error(e, "read the server version") from e
        return f"FalkorDB {version or 'unknown'} (Redis {info.get('redis_version', '?')})"

    @staticmethod
    async def _module_version(client: aioredis.Redis) -> str | None:
        """The FalkorDB module's version ("4.16.3"), or None if it is not loaded."""
        try:
            modules = await _command(client, "MODULE", "LIST")
        except ResponseError:
            # MODULE may be forbidden by ACLs on hosted servers; ask the module itself.
            await _command(client, "GRAPH.LIST")
            return "unknown"
        for entry in modules:
            # redis-py parses each module into a dict; raw replies are flat lists.
            fields = (
                entry
                if isinstance(entry, dict)
                else dict(zip(entry[::2], entry[1::2], strict=True))
            )
            if fields.get("name") == "graph":
                ver = int(fields.get("ver", 0))
                return f"{ver // 10000}.{ver // 100 % 100}.{ver % 100}"
        return None

    # --- statements ------------------------------------------------------------

    def _require_client(self) -> aioredis.Redis:
        if self._client is None:
            raise BackendConnectionError(f"{self.describe()} is not connected; call connect()")
        return self._client

    async def _run(
        self, query: str, params: dict[str, Any] | None = None, *, write: bool = False
    ) -> list[list[Any]]:
        deadline = time.monotonic() + FAILOVER_PATIENCE
        while True:
            client = self._require_client()
            try:
                if write:
                    return await self._write(client, query, params)
                return await self._read(client, query, params)
            except _NotRun as e:
                # Sending it again cannot apply it twice: it never ran.
                cause = e.__cause__ or e
                if self._sentinel is None:
                    raise self._lost(cause) from cause
                if time.monotonic() > deadline:
                    raise BackendConnectionError(
                        f"{self.describe()} named no primary that took the statement within "
                        f"{FAILOVER_PATIENCE:g}s: {self._safe(cause)}; try again"
                    ) from cause
                await self._follow_primary(client)

    async def _read(
        self, client: aioredis.Redis, query: str, params: dict[str, Any] | None
    ) -> list[list[Any]]:
        assert self._graph is not None
        try:
            reply = await _command(
                client, "GRAPH.RO_QUERY", self.graph_name, params_header(params) + query,
                "--compact",
            )  # fmt: skip
            try:
                return compact_rows(reply)
            except _NotPlain:
                result = await self._graph.ro_query(query, params)
        except ResponseError as e:
            if "empty key" in str(e):
                # The graph does not exist yet (a fresh store opened read-only):
                # it holds nothing, so every read finds no rows (counts read that as 0).
                return []
            raise self._operation_error(e, "read") from e
        except RedisConnectionError as e:
            raise _NotRun from e  # a read changes nothing: always safe to send again
        except (RedisError, OSError) as e:
            raise self._lost(e) from e
        return [list(row) for row in result.result_set]

    async def _write(
        self, client: aioredis.Redis, query: str, params: dict[str, Any] | None
    ) -> list[list[Any]]:
        """Run a write statement on one connection of `client`, then, when replicas must
        hold it, ``WAIT`` for them on that same connection (WAIT counts the writes of
        its own connection).

        Raises `_NotRun` only when the statement certainly did not run: no
        connection could be made (the server is down), or the server answered
        READONLY (a demoted primary refuses a write before running it). A
        connection that breaks after the statement was sent leaves its outcome
        unknown, and it is not sent again: not every write here is idempotent
        (a CREATE of new records would meet the unique constraint on its own
        earlier copy, an insert of a new id or a compare-and-set with an expected
        version would report its own earlier success as a conflict, a deletion
        would leave its tombstones twice), so the caller gets a retryable error
        that says the write may or may not be stored.
        """
        assert self._graph is not None
        pool = client.connection_pool
        try:
            connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        except (RedisError, OSError) as e:
            raise _NotRun from e
        answered = False
        try:
            try:
                await connection.send_command(
                    "GRAPH.QUERY", self.graph_name, params_header(params) + query, "--compact"
                )
                reply = await connection.read_response()
            except ReadOnlyError as e:
                raise _NotRun from e
            except ResponseError as e:
                raise self._operation_error(e, "write") from e
            except (RedisError, OSError) as e:
                raise self._lost_during_write(e) from e
            if _changed(reply):  # WAIT for a statement that wrote nothing would wait for nothing
                await self._replicated(connection)
            answered = True
        finally:
            if not answered:
                # Cancelled or failed half-way, a reply may still be on its way: a
                # connection handed out again must not deliver it to the next caller.
                await connection.disconnect(nowait=True)
            await pool.release(connection)
        try:
            return compact_rows(reply)
        except ResponseError as e:
            raise self._operation_error(e, "write") from e
        except _NotPlain:
            result = QueryResult(self._graph)
            await result.parse(reply)
            return [list(row) for row in result.result_set]

    async def _replicated(self, connection: Any) -> None:
        """Return once the replicas each write waits for hold this connection's writes;
        `ReplicationError` when they do not confirm within the wait."""
        stale = time.monotonic() - self._replicas_checked > REPLICA_RECHECK
        if self._sentinel is not None and stale:
            await self._count_replicas()
        wanted = self._replicas
        if not wanted:
            return
        wait_ms = self._location.wait_ms if self._location is not None else 0
        try:
            await connection.send_command("WAIT", str(wanted), str(wait_ms))
            confirmed = int(await connection.read_response())
        except (RedisError, OSError) as e:
            raise ReplicationError(
                f"{self.describe()} took a write but the connection broke before "
                f"{wanted} replica(s) confirmed it, so it is not acknowledged (it may "
                f"still be stored): {self._safe(e)}; read it back before writing it again"
            ) from e
        if confirmed < wanted:
            # The replicas Sentinel reports may have changed: ask again for the next write.
            self._replicas_checked = 0.0
            raise ReplicationError(
                f"{self.describe()} took a write but only {confirmed} of {wanted} "
                f"replica(s) confirmed it within {wait_ms} ms, so it is not acknowledged "
                "(it may still be stored); try again once the replicas are reachable"
            )

    async def _by_keys(
        self, query: str, ids: Sequence[str], params: dict[str, Any] | None = None
    ) -> list[Any]:
        found: list[Any] = []
        in_flight: list[asyncio.Task[list[Any]]] = []
        try:
            for batch in chunks(self._keys(ids), READ_CHUNK):
                in_flight.append(
                    asyncio.ensure_future(
                        self._collected(query, {**(params or {}), "keys": list(batch)})
                    )
                )
                if len(in_flight) == 2:
                    found += await in_flight.pop(0)
            while in_flight:
                found += await in_flight.pop(0)
        finally:
            for task in in_flight:  # after a failure: the statement still running
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
        return found

    def _operation_error(self, e: BaseException, what: str) -> BackendOperationError:
        message = self._safe(e)
        if "unique constraint violation" in message:
            return IntegrityError(f"{self.describe()} refused a duplicate id: {message}")  # type: ignore[return-value]
        return BackendOperationError(f"{self.describe()} failed to {what}: {message}")

    def _safe(self, e: BaseException | str) -> str:
        """An engine message cut to one short line, with the password scrubbed out."""
        text = self.config.scrub(" ".join(str(e).split()))
        return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"

    # --- digests ---------------------------------------------------------------

    async def digests(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        """As `CypherReads.digests`, from the same values read as lists: the same digest
        for every record (a record whose edge holds other properties is read as before)."""
        k = self.dialect.key_property
        found: dict[str, str] = {}
        values: list[dict[str, Any]] = []
        if kind == "memory":
            query = (
                f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{{k}: key}}) "
                f"RETURN collect({_MEMORY_LIST})"
            )
            for row in await self._by_keys(query, ids):
                values.append(self._memory_values(dict(zip(_MEMORY_COLUMNS, row, strict=True))))
        else:
            query = (
                f"UNWIND $keys AS key MATCH (a)-[r:{EDGE_LABEL} {{{k}: key}}]->(b) "
                f"RETURN collect({_EDGE_LIST})"
            )
            n = len(_EDGE_COLUMNS)
            others: list[str] = []
            for row in await self._by_keys(query, ids):
                props = dict(zip(_EDGE_COLUMNS, row[:n], strict=True))
                if row[n + 2] != 0:
                    others.append(props["id"])
                else:
                    values.append(self._relationship_values(props, row[n], row[n + 1]))
            if others:
                # Properties beyond the fields are digested with them, read as a map.
                found = await super().digests(kind, others)
        for v in values:
            canonical = orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
            found[v["id"]] = hashlib.sha256(canonical).hexdigest()
        return found

    # --- bulk insert -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def bulk_insert(self) -> AsyncIterator[None]:
        """New records go in with ``GRAPH.BULK`` (see `falkordb_bulk.BulkAppender`)."""
        if self._bulk is not None:  # nested: the outer block's appender goes on
            yield
            return
        self._require_writable()
        self._bulk = bulk = await BulkAppender.open(self)
        try:
            yield
        finally:
            self._bulk = None
            bulk.close()

    async def _write_canonical(
        self, kind: RecordKind, records: Sequence[CanonicalRecord], new_ids: set[str]
    ) -> None:
        bulk = self._bulk
        # GRAPH.BULK sends each batch on whichever connection is free, so no WAIT could
        # cover it: where replicas must confirm, new records go in by ordinary statements.
        if bulk is not None and len(new_ids) == len(records) and not self._replicas:
            write = bulk.write_memories if kind == "memory" else bulk.write_relationships
            if await write(records):
                return
        await super()._write_canonical(kind, records, new_ids)

    # --- search ----------------------------------------------------------------

    def fulltext_source(self, query: MatchQuery) -> tuple[str, dict[str, Any]]:
        # RediSearch syntax; tokens are lowercase ASCII letters and digits, nothing to escape.
        text = query.expression(either=" | ", both=" ")
        return (
            f"CALL db.idx.fulltext.queryNodes('{MEMORY_LABEL}', $q) YIELD node AS m, score "
            "WITH m, score",
            {"q": text},
        )

    # --- deletes -----------------------------------------------------------------

    def _memory_delete_prelude(self) -> str:
        """A scan of one ``:Memory`` node, so the deletion also leaves the label's index.

        FalkorDB 4.16 loses deletions from a label's index: once the graph's node
        store has grown (past 16,384 nodes, 32,768, …) since the label's matrix was
        last read, nodes of that label deleted through the key index are removed
        but stay in the label's matrix. ``MATCH (m:Memory)`` then yields deleted
        nodes (no labels, no properties; ``keys(m)`` on one can crash the server)
        and nodes that reuse their ids (tombstones), so the graph reads as another
        tool's and every later command is refused. Deleting memories is exactly
        that: each batch first creates thousands of tombstones, and a single delete
        creates its tombstones in the statement that deletes. A label scan at the
        start of the deleting statement brings the matrix up to date first, also
        for the growth that statement's own tombstones cause; it stops at one node.
        """
        return f"OPTIONAL MATCH (probe:{MEMORY_LABEL}) WITH probe LIMIT 1 "

    # --- schema ----------------------------------------------------------------

    async def _create_schema(self) -> None:
        client = self._require_client()
        targets = [
            ("NODE", MEMORY_LABEL, f"(x:{MEMORY_LABEL})"),
            ("RELATIONSHIP", EDGE_LABEL, f"()-[x:{EDGE_LABEL}]-()"),
        ]
        indexes = await self._schema_rows("db.indexes")
        for entity, label, pattern in targets:
            if (entity, label) not in indexes:
                await self._run(f"CREATE INDEX FOR {pattern} ON (x.{KEY_PROPERTY})", write=True)
        await self._wait_operational("db.indexes", targets)
        constraints = await self._schema_rows("db.constraints", unique_only=True)
        for entity, label, _ in targets:
            if (entity, label) not in constraints:
                try:
                    await _command(
                        client,
                        "GRAPH.CONSTRAINT", "CREATE", self.graph_name,
                        "UNIQUE", entity, label, "PROPERTIES", "1", KEY_PROPERTY,
                    )  # fmt: skip
                except ResponseError as e:
                    if "already exists" not in str(e):
                        raise self._operation_error(e, "create a unique constraint") from e
                except (RedisError, OSError) as e:
                    raise self._connection_error(e) from e
        await self._wait_operational("db.constraints", targets, unique_only=True)
        await self._create_search_index()

    async def _create_search_index(self) -> None:
        rows = await self._run(
            "CALL db.indexes() YIELD label, properties, entitytype "
            "RETURN label, properties, entitytype",
            write=True,
        )
        if any(
            label == MEMORY_LABEL and entity == "NODE" and TITLE_TERMS in list(props)
            for label, props, entity in rows
        ):
            return
        await self._run(
            f"CALL db.idx.fulltext.createNodeIndex({{label: '{MEMORY_LABEL}', stopwords: [], "
            f"language: 'english'}}, {{field: '{TITLE_TERMS}', nostem: true, "
            f"weight: {TITLE_WEIGHT}}}, {{field: '{BODY_TERMS}', nostem: true}})",
            write=True,
        )

    # --- vectors: a cosine HNSW index (`db.idx.vector`) on `_vec` ---------------------

    def _vector_value(self, param: str) -> str:
        return f"vecf32({param})"

    async def _has_vector_index(self) -> bool:
        rows = await self._run(
            "CALL db.indexes() YIELD label, types RETURN label, types",
            write=True,  # on a brand-new graph a read would fail with "empty key"
        )
        return any(
            label == MEMORY_LABEL and "VECTOR" in (types or {}).get("_vec", [])
            for label, types in rows
        )

    async def _ensure_vector_index(self, dimensions: int) -> None:
        if await self._has_vector_index():
            return
        await self._run(
            f"CREATE VECTOR INDEX FOR (m:{MEMORY_LABEL}) ON (m._vec) OPTIONS "
            f"{{dimension: {int(dimensions)}, similarityFunction: 'cosine', "
            f"M: 16, efConstruction: 200, efRuntime: {VECTOR_EF}}}",
            write=True,
        )

    async def _nearest(self, vector: list[float], limit: int) -> list[tuple[str, float]]:
        # Asked each time: `clear` may have dropped the graph and its indexes.
        if not await self._has_vector_index():
            return []
        rows = await self._run(
            f"CALL db.idx.vector.queryNodes('{MEMORY_LABEL}', '_vec', {int(limit)}, vecf32($q)) "
            "YIELD node, score RETURN node.id, score",
            {"q": vector},
        )
        # The index scores cosine distance: 1 - similarity.
        return [(memory_id, 1.0 - float(distance)) for memory_id, distance in rows]

    async def _schema_rows(
        self, procedure: str, *, unique_only: bool = False
    ) -> dict[tuple[str, str], str]:
        """(entity type, label) → status, for schema objects covering exactly the key."""
        extra = ", type" if procedure == "db.constraints" else ""
        rows = await self._run(
            f"CALL {procedure}() YIELD label, properties, entitytype, status{extra} "
            f"RETURN label, properties, entitytype, status{extra}",
            write=True,  # on a brand-new graph a read would fail with "empty key"
        )
        found: dict[tuple[str, str], str] = {}
        for row in rows:
            label, properties, entity, status = row[:4]
            if unique_only and row[4] != "UNIQUE":
                continue
            # The full-text index on the same label is reported in the same row.
            wanted = KEY_PROPERTY in list(properties)
            if procedure == "db.constraints":
                wanted = list(properties) == [KEY_PROPERTY]
            if wanted:
                found[(entity, label)] = status
        return found

    async def _wait_operational(
        self, procedure: str, targets: list[tuple[str, str, str]], *, unique_only: bool = False
    ) -> None:
        deadline = time.monotonic() + max(SCHEMA_TIMEOUT, self.config.timeout_seconds)
        while True:
            rows = await self._schema_rows(procedure, unique_only=unique_only)
            states = {key: rows.get(key) for key in ((e, lbl) for e, lbl, _ in targets)}
            failed = [lbl for (_, lbl), s in states.items() if s == "FAILED"]
            if failed:
                raise BackendOperationError(
                    f"{self.describe()} could not build the unique id constraint on "
                    f"{', '.join(failed)}: the graph already holds duplicate ids; "
                    "remove them and reconnect"
                )
            if all(s == "OPERATIONAL" for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise BackendOperationError(
                    f"{self.describe()} was still building its id indexes after "
                    f"{SCHEMA_TIMEOUT:.0f}s; try again later"
                )
            await asyncio.sleep(0.05)


#: Statistics of a statement's reply that do not say it changed the graph.
_UNCHANGED_STATISTICS = ("Cached execution", "Query internal execution time")


def _changed(reply: list[Any]) -> bool:
    """True when a statement's reply reports a change (nodes created, properties set…)."""
    statistics = reply[-1] if reply and isinstance(reply[-1], list) else []
    for line in statistics:
        name, _, value = str(line).partition(":")
        if name not in _UNCHANGED_STATISTICS and value.strip() not in ("0", "0.0", ""):
            return True
    return False


def _address_uri(address: tuple[str, int]) -> str:
    host, port = address
    return f"redis://[{host}]:{port}" if ":" in host else f"redis://{host}:{port}"
