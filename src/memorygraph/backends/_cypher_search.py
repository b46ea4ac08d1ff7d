"""Finding memories in a Cypher store: candidates and match counts from the
engine's full-text index or a scan of the search fields, their rebuild, and
vectors in the engine's vector index, scored again exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memorygraph.backends._cypher_core import CypherCore
from memorygraph.backends._cypher_layout import (
    BODY_TERMS,
    MEMORY_LABEL,
    MEMORY_VALUES,
    NAMESPACE,
    PROJECT,
    TITLE_TERMS,
    VECTOR_OVERFETCH,
    in_namespaces,
)
from memorygraph.models import Memory, format_timestamp
from memorygraph.principal import Namespaces
from memorygraph.search import SearchFilters
from memorygraph.search.ranking import Candidate, MatchQuery
from memorygraph.search.semantic import floats, from_floats


class CypherSearch(CypherCore):
    """Search candidates and match counts, the search fields' rebuild, and vectors."""

    def fulltext_source(self, query: MatchQuery) -> tuple[str, dict[str, Any]] | None:
        """A clause yielding ``m`` (a matching memory) and ``score`` from the engine's
        full-text index, with its parameters; None to match by scanning instead."""
        return None

    def _scan_condition(self, query: MatchQuery) -> tuple[str, dict[str, Any]]:
        """`query` as a property test: exact tokens and token prefixes in ``_st``/``_sb``."""
        params: dict[str, Any] = {}
        groups: list[str] = []
        for g, group in enumerate(query.groups):
            alts: list[str] = []
            for a, (token, prefix) in enumerate(group):
                name = f"t{g}_{a}"
                params[name] = " " + token + ("" if prefix else " ")
                alts.append(
                    f"(' ' + coalesce(m.{TITLE_TERMS}, '') + ' ') CONTAINS ${name} "
                    f"OR (' ' + coalesce(m.{BODY_TERMS}, '') + ' ') CONTAINS ${name}"
                )
            groups.append("(" + " OR ".join(alts) + ")")
        return "(" + (" AND " if query.require_all else " OR ").join(groups) + ")", params

    def _matching(self, query: MatchQuery) -> tuple[str, list[str], dict[str, Any]]:
        """(clause yielding m and score, extra conditions on m, parameters)."""
        source = self.fulltext_source(query)
        if source is not None:
            return source[0], [], source[1]
        condition, params = self._scan_condition(query)
        return f"MATCH (m:{MEMORY_LABEL}) WITH m, 0 AS score", [condition], params

    def _filter_conditions(self, filters: SearchFilters) -> tuple[list[str], dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {}
        if filters.types:
            where.append("m.type IN $f_types")
            params["f_types"] = [t.value for t in filters.types]
        if filters.tags:
            where.append("any(t IN coalesce(m.tags, []) WHERE t IN $f_tags)")
            params["f_tags"] = list(filters.tags)
        if filters.project is not None:
            where.append(f"m.{PROJECT} = $f_project")
            params["f_project"] = filters.project
        if filters.min_importance is not None:
            where.append("m.importance >= $f_importance")
            params["f_importance"] = filters.min_importance
        if filters.created_after is not None:
            where.append("m.created_at >= $f_created")
            params["f_created"] = format_timestamp(filters.created_after)
        if filters.updated_after is not None:
            where.append("m.changed_at >= $f_updated")
            params["f_updated"] = format_timestamp(filters.updated_after)
        return where, params

    async def search_candidates(
        self,
        query: MatchQuery,
        filters: SearchFilters,
        limit: int,
        *,
        namespaces: Namespaces | None = None,
    ) -> list[Candidate]:
        source, where, params = self._matching(query)
        conditions, filter_params = self._filter_conditions(filters)
        scoped, scope_params = in_namespaces(namespaces, "m")
        where += conditions + scoped
        filter_params.update(scope_params)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        cypher = (
            f"{source}{clause} "
            f"WITH m, score ORDER BY score DESC, m.{self.dialect.key_property} "
            f"LIMIT {int(limit)} "
            f"RETURN collect([m.id, m.{TITLE_TERMS}, m.{BODY_TERMS}])"
        )
        rows = await self._collected(cypher, {**params, **filter_params})
        return [Candidate(i, title or "", body or "") for i, title, body in rows]

    async def count_matches(
        self, queries: Sequence[MatchQuery], *, namespaces: Namespaces | None = None
    ) -> list[int]:
        counts: list[int] = []
        scoped, scope_params = in_namespaces(namespaces, "m")
        for query in queries:
            source, where, params = self._matching(query)
            where += scoped
            params.update(scope_params)
            clause = (" WHERE " + " AND ".join(where)) if where else ""
            rows = await self._run(f"{source}{clause} RETURN count(m)", params)
            counts.append(int(rows[0][0]) if rows else 0)
        return counts

    async def rebuild_search_index(self) -> int:
        self._require_writable()
        await self._create_schema()
        k = self.dialect.key_property
        statement = (
            f"UNWIND $rows AS row MATCH (m:{MEMORY_LABEL} {{`{k}`: row[0]}}) "
            f"SET m.{TITLE_TERMS} = row[1], m.{BODY_TERMS} = row[2], m.{PROJECT} = row[3], "
            f"m.{NAMESPACE} = row[4]"
        )
        done = 0
        batch: list[list[Any]] = []
        async for page in self.iter_canonical("memory"):
            for memory in page:
                row = self._encode_memory(memory)
                batch.append(
                    [row[k], row[TITLE_TERMS], row[BODY_TERMS], row[PROJECT], row[NAMESPACE]]
                )
                if len(batch) >= self.dialect.write_batch_size:
                    await self._run(statement, {"rows": batch}, write=True)
                    done, batch = done + len(batch), []
        if batch:
            await self._run(statement, {"rows": batch}, write=True)
            done += len(batch)
        return done

    # --- vectors: node properties `_vec` / `_vec_model` in the engine's vector index ---
    # Every write replaces a node's properties whole (`SET m = …`), which drops its
    # vector: vectors follow the memory without any path of their own.

    def _vector_value(self, param: str) -> str:
        """The Cypher expression that stores the list of floats `param` as a vector."""
        raise self._no_vectors()

    async def _ensure_vector_index(self, dimensions: int) -> None:
        """Create the engine's vector index on `_vec` if it does not exist."""
        raise self._no_vectors()

    async def _nearest(self, vector: list[float], limit: int) -> list[tuple[str, float]]:
        """The engine's index query: (id, cosine similarity) of the nearest `limit`."""
        raise self._no_vectors()

    async def memories_without_vectors(self, model: str, limit: int) -> list[Memory]:
        rows = await self._collected(
            f"MATCH (m:{MEMORY_LABEL}) WHERE m._vec_model IS NULL OR m._vec_model <> $model "
            f"WITH m ORDER BY m.{self.dialect.key_property} LIMIT {int(limit)} "
            f"RETURN collect({MEMORY_VALUES})",
            {"model": model},
        )
        return [self._decode_memory(props) for props in rows]

    async def put_vectors(self, model: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        self._require_writable()
        if not vectors:
            return
        rows = [[self.dialect.encode_key(i), floats(v)] for i, v in vectors]
        await self._ensure_vector_index(len(rows[0][1]))
        k = self.dialect.key_property
        await self._run(
            f"UNWIND $rows AS row MATCH (m:{MEMORY_LABEL} {{`{k}`: row[0]}}) "
            f"SET m._vec = {self._vector_value('row[1]')}, m._vec_model = $model",
            {"rows": rows, "model": model},
            write=True,
        )

    async def drop_vectors(self) -> None:
        self._require_writable()
        await self._run(
            f"MATCH (m:{MEMORY_LABEL}) WHERE m._vec_model IS NOT NULL REMOVE m._vec, m._vec_model",
            write=True,
        )

    async def vector_search(
        self,
        model: str,
        vector: bytes,
        limit: int,
        filters: SearchFilters | None = None,
    ) -> list[tuple[str, float]]:
        from memorygraph.backends.vector_scan import VectorScan

        if not vector or limit <= 0:
            return []
        found = await self._nearest(floats(vector), limit * VECTOR_OVERFETCH)
        if not found:
            return []
        # The engines' indexes score in their own precision (Neo4j's differs from an
        # exact float32 product in the third decimal), which reorders near-ties in
        # the fused ranking. The candidates are scored again exactly, as SQLite does,
        # and only against vectors of `model`: the index holds every model's.
        k = self.dialect.key_property
        rows = await self._run(
            f"UNWIND $keys AS key MATCH (m:{MEMORY_LABEL} {{`{k}`: key}}) "
            "WHERE m._vec_model = $model RETURN m.id, m._vec",
            {"keys": [self.dialect.encode_key(i) for i, _ in found], "model": model},
        )
        ids = [str(memory_id) for memory_id, _ in rows]
        stored = [from_floats(list(values)) for _, values in rows]
        return VectorScan(ids, stored).nearest(vector, limit)
