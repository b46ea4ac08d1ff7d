"""How FalkorDB keys its records: the property and the encoding of ids it indexes, and
the Cypher dialect built on them. Both the backend (`falkordb.py`) and the bulk path
(`falkordb_bulk.py`) write records this way, so it lives apart from either."""

from __future__ import annotations

from memorygraph.backends._cypher_layout import CypherDialect

#: The indexed, unique property holding `encode_key(id)`.
KEY_PROPERTY = "_key"


def encode_key(record_id: str) -> str:
    """The id as lowercase hex of its UTF-8 bytes: what FalkorDB indexes instead of the id.

    FalkorDB's exact-match index (4.16) mishandles strings with leading or
    trailing whitespace: ``{id: 'a'}`` also finds ``' a'``, ``'a '`` and
    ``'a\\t'``, ``{id: 'a '}`` finds nothing, and a unique constraint on such
    a value crashes the server (SIGSEGV in EnforceUniqueEntity). Hex digits
    avoid all of that, and hex of UTF-8 sorts like the ids themselves (code
    point order), so keyset pagination on the key keeps id order.
    """
    return record_id.encode("utf-8").hex()


#: FalkorDB's Cypher dialect.
DIALECT = CypherDialect(
    name="falkordb",
    # Doubles come back printed with 15 significant digits.
    exact_floats=False,
    key_property=KEY_PROPERTY,
    encode_key=encode_key,
)
