"""Neo4j backend over Bolt with the official `neo4j` driver (async API).

`BoltBackend` holds what Neo4j and Memgraph share (both speak Bolt to the same
driver): connecting with bounded timeouts, running each statement in a managed
transaction, mapping driver errors onto `memorygraph.errors`. `Neo4jBackend`
adds Neo4j's schema syntax and version query; `memgraph.py` adds Memgraph's.

Neo4j properties are scalars or lists of scalars, never maps, so a memory's
``context`` is stored as JSON text (done by `_cypher`, inside this backend
only). Doubles travel over Bolt as 64-bit floats, so they come back exact.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from typing import Any, ClassVar

import neo4j
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConstraintError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from memorygraph.backends._cypher import CypherBackend
from memorygraph.backends._cypher_layout import (
    BODY_TERMS,
    EDGE_LABEL,
    LOCK,
    MEMORY_LABEL,
    TITLE_TERMS,
    CypherDialect,
)
from memorygraph.errors import (
    BackendConnectionError,
    BackendOperationError,
    IntegrityError,
    OperationError,
)
from memorygraph.search.ranking import MatchQuery

_MAX_MESSAGE = 300
#: How long connect waits for the server to bring new indexes online.
SCHEMA_TIMEOUT = 300
#: The full-text index over the derived search fields (see memorygraph.search.text).
SEARCH_INDEX = "memorygraph_search"
#: The first Bolt version whose servers accept notification filters; the driver
#: refuses the option on a connection to an older server.
NOTIFICATION_FILTERS = (5, 2)


class BoltBackend(CypherBackend):
    """A Cypher engine reached with the `neo4j` driver; subclasses supply schema and version."""

    batch_size: ClassVar[int] = 2000

    _driver: neo4j.AsyncDriver | None = None
    #: Options every session is opened with (see `_quiet_sessions`).
    _session_options: dict[str, Any] = {}  # noqa: RUF012 - replaced per instance, never mutated

    # --- lifecycle -------------------------------------------------------------

    async def connect(self) -> None:
        if self._driver is not None:
            return
        timeout = self.config.timeout_seconds
        auth = None
        if self.config.username is not None or self.config.password is not None:
            auth = (self.config.username or "", self.config.password or "")
        try:
            driver = neo4j.AsyncGraphDatabase.driver(
                self.config.uri or "",
                auth=auth,
                connection_timeout=timeout,
                connection_acquisition_timeout=timeout,
                # Managed transactions retry transient failures; bound that too,
                # so a server that went away fails in seconds, not minutes.
                max_transaction_retry_time=timeout,
            )
        except (ValueError, DriverError) as e:
            raise BackendConnectionError(
                f"cannot connect to {self.describe()}: bad uri ({self._safe(e)}); "
                "use bolt://host:port or neo4j://host:port"
            ) from e
        try:
            await asyncio.wait_for(self._check_server(driver), timeout)
            self._session_options = await self._quiet_sessions(driver)
        except Exception as e:
            await driver.close()
            raise self._connection_error(e) from e
        self._driver = driver
        try:
            # Before any schema: another tool's graph is left exactly as it is.
            await self._refuse_foreign_graph()
            if not self.config.read_only:
                await self._create_schema()
                await self._complete_namespaces()
        except BaseException:
            await self.close()  # a half-open backend must not leak its driver
            raise

    async def _check_server(self, driver: neo4j.AsyncDriver) -> None:
        # verify_connectivity() logs in; the query proves the database exists.
        await driver.verify_connectivity()
        async with driver.session(database=self.config.database) as session:
            result = await session.run("RETURN 1")
            await result.consume()

    @staticmethod
    async def _quiet_sessions(driver: neo4j.AsyncDriver) -> dict[str, Any]:
        """Session options that keep the server's notifications (hints about our own
        statements, such as a property no record has yet) out of the results, where
        the driver would log them as warnings on the user's terminal. Servers before
        Bolt 5.2 cannot filter them, and get no option."""
        info = await driver.get_server_info()
        if info.protocol_version < NOTIFICATION_FILTERS:
            return {}
        return {"notifications_min_severity": "OFF"}

    async def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            # Closing a driver to a dead server has nothing left to release.
            with contextlib.suppress(DriverError, Neo4jError, OSError):
                await driver.close()

    def _connection_error(self, e: BaseException) -> BackendConnectionError:
        if isinstance(e, BackendConnectionError):
            return e
        if isinstance(e, TimeoutError):
            reason = f"no answer within {self.config.timeout_seconds:g}s"
        elif isinstance(e, AuthError):
            reason = "the server refused the user name or password"
        else:
            reason = self._safe(e) or type(e).__name__
        return BackendConnectionError(f"cannot connect to {self.describe()}: {reason}")

    def _safe(self, e: BaseException | str) -> str:
        """An engine message cut to one short line, with the password scrubbed out."""
        if isinstance(e, Neo4jError) and e.message:
            text = f"{e.code}: {e.message}" if e.code else e.message
        else:
            text = str(e)
        text = self.config.scrub(" ".join(text.split()))
        return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"

    # --- statements ------------------------------------------------------------

    def _require_driver(self) -> neo4j.AsyncDriver:
        if self._driver is None:
            raise BackendConnectionError(f"{self.describe()} is not connected; call connect()")
        return self._driver

    async def _run(
        self, query: str, params: dict[str, Any] | None = None, *, write: bool = False
    ) -> list[list[Any]]:
        return await self._run_all([(query, params or {})], write=write)

    async def _read_one_state(
        self, match: str, values: str, params: dict[str, Any]
    ) -> list[list[Any]]:
        # Neo4j reads committed values property by property: a read that races a commit
        # can return a record's fields from before it and its `_written` from after, and
        # a stale version would then pass the compare-and-set. Under the record's write
        # lock (taken, and dropped again, in a transaction that changes nothing) no write
        # to it can commit while it is read.
        return await self._run_all(
            [
                (f"{match}SET x.`{LOCK}` = true", params),
                (f"{match}REMOVE x.`{LOCK}` {values}", params),
            ],
            write=True,
        )

    async def _run_locked(self, lock: str, query: str, params: dict[str, Any]) -> list[list[Any]]:
        # Two statements of one transaction: `query` starts once `lock` holds the
        # record's write lock, so under read-committed isolation it reads the record
        # as last committed, and nobody commits a change to it before this does.
        return await self._run_all([(lock, params), (query, params)], write=True)

    async def _run_all(
        self, statements: list[tuple[str, dict[str, Any]]], *, write: bool
    ) -> list[list[Any]]:
        """Run `statements` in one transaction; return the last one's rows."""
        driver = self._require_driver()

        async def work(tx: neo4j.AsyncManagedTransaction) -> list[list[Any]]:
            rows: list[list[Any]] = []
            for query, params in statements:
                result = await tx.run(query, params)
                rows = [list(values) for values in await result.values()]
            return rows

        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        try:
            async with driver.session(
                database=self.config.database, default_access_mode=mode, **self._session_options
            ) as session:
                if write:
                    return await session.execute_write(work)
                return await session.execute_read(work)
        except Exception as e:
            raise self._operation_error(e, "write" if write else "read") from e

    async def _run_schema(self, query: str) -> None:
        """Run a schema command on its own (auto-commit: engines refuse it in a transaction)."""
        driver = self._require_driver()
        try:
            async with driver.session(
                database=self.config.database, **self._session_options
            ) as session:
                result = await session.run(query)
                await result.consume()
        except Exception as e:
            raise self._operation_error(e, "create its schema") from e

    def _operation_error(self, e: BaseException, what: str) -> OperationError:
        if isinstance(e, OperationError):
            return e
        if isinstance(e, IncompleteCommit):
            # The driver does not retry it: the commit may have happened.
            return BackendConnectionError(
                f"lost the connection to {self.describe()} while a write was committed, "
                f"which may or may not be stored: {self._safe(e)}; read it back before "
                "writing it again"
            )
        if isinstance(e, ServiceUnavailable | SessionExpired | AuthError | OSError):
            return BackendConnectionError(
                f"lost the connection to {self.describe()}: {self._safe(e)}"
            )
        if isinstance(e, ConstraintError):
            return IntegrityError(f"{self.describe()} refused a duplicate id: {self._safe(e)}")
        return BackendOperationError(f"{self.describe()} failed to {what}: {self._safe(e)}")

    async def engine_version(self) -> str:
        driver = self._require_driver()
        try:
            info = await driver.get_server_info()
        except Exception as e:
            raise self._operation_error(e, "report its version") from e
        return await self._version_detail(info.agent)

    @abstractmethod
    async def _version_detail(self, agent: str) -> str:
        """The version string, given the server's Bolt agent (``Neo4j/5.26.0``)."""


class Neo4jBackend(BoltBackend):
    """Memories in a Neo4j database (5.x; 4.4 works without the relationship constraint)."""

    dialect: ClassVar[CypherDialect] = CypherDialect(name="neo4j")

    async def _create_schema(self) -> None:
        # Uniqueness constraints bring their own range index, which serves the
        # id lookups (NodeIndexSeek / DirectedRelationshipIndexSeek).
        await self._run_schema(
            f"CREATE CONSTRAINT memorygraph_memory_id IF NOT EXISTS "
            f"FOR (m:{MEMORY_LABEL}) REQUIRE m.id IS UNIQUE"
        )
        try:
            await self._run_schema(
                f"CREATE CONSTRAINT memorygraph_relationship_id IF NOT EXISTS "
                f"FOR ()-[r:{EDGE_LABEL}]-() REQUIRE r.id IS UNIQUE"
            )
        except BackendOperationError as e:
            # Relationship uniqueness constraints arrived in Neo4j 5.7; before
            # that, an index still keeps edge lookups by id off a full scan.
            if not isinstance(e.__cause__, ClientError):
                raise
            await self._run_schema(
                f"CREATE INDEX memorygraph_relationship_id IF NOT EXISTS "
                f"FOR ()-[r:{EDGE_LABEL}]-() ON (r.id)"
            )
        # The indexed text is already analyzed (memorygraph.search.text): split on
        # whitespace only. Not eventually consistent: a write is searchable at commit.
        await self._run_schema(
            f"CREATE FULLTEXT INDEX {SEARCH_INDEX} IF NOT EXISTS "
            f"FOR (m:{MEMORY_LABEL}) ON EACH [m.{TITLE_TERMS}, m.{BODY_TERMS}] "
            "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
            "`fulltext.eventually_consistent`: false}}"
        )
        await self._run_schema(f"CALL db.awaitIndexes({SCHEMA_TIMEOUT})")

    def fulltext_source(self, query: MatchQuery) -> tuple[str, dict[str, Any]]:
        # Lucene syntax; tokens are lowercase ASCII letters and digits, nothing to escape.
        text = query.expression(either=" OR ", both=" AND ")
        return (
            f"CALL db.index.fulltext.queryNodes('{SEARCH_INDEX}', $q) YIELD node AS m, score "
            "WITH m, score",
            {"q": text},
        )

    # --- vectors: `_vec` lists of floats, ranked by an exact scan ----------------

    def _vector_value(self, param: str) -> str:
        return param

    async def _ensure_vector_index(self, dimensions: int) -> None:
        """Nothing: the scan in `_nearest` needs no index."""

    async def _nearest(self, vector: list[float], limit: int) -> list[tuple[str, float]]:
        # An exact scan, not the vector index: the index is approximate and, right
        # after a write, may not list a memory yet, so its nearest differed from the
        # other engines'. `vector_search` scores the candidates again in float32.
        rows = await self._run(
            f"MATCH (m:{MEMORY_LABEL}) WHERE m._vec IS NOT NULL "
            "WITH m, vector.similarity.cosine(m._vec, $q) AS score "
            "ORDER BY score DESC, m.id LIMIT $k RETURN m.id, score",
            {"k": int(limit), "q": vector},
        )
        return [(str(memory_id), float(score)) for memory_id, score in rows]

    async def _version_detail(self, agent: str) -> str:
        rows = await self._run(
            "CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0], edition"
        )
        if not rows:
            return agent
        name, version, edition = rows[0]
        return f"{name} {version} {edition}"
