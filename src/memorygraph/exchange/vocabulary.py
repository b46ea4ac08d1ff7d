"""Other tools' type names, mapped onto memorygraph's types and kept for the way back.

An importer maps a source's type text onto a `MemoryType` or `RelationshipType`
(case, spaces and hyphens aside: ``"works with"`` is WORKS_WITH), and keeps the
text itself whenever it is not exactly the type's value. An exporter for the
same format writes the kept text again, as long as it still maps onto the
record's type (a record whose type was changed since is written with its new
type). Where the text is kept (docs/FORMAT.md, "Importers"):

- a memory's: in `context.metadata` (each importer names its key);
- a relationship's: the relationship has no free-form map, so the first line
  of `description` is ``source type: `` followed by the text as a JSON string
  (which has no raw newline, so the line ends where the string ends); the
  source's own description, if any, follows after a newline.
"""

from __future__ import annotations

from typing import Final

import orjson

from memorygraph.models import MemoryType, Relationship, RelationshipType

#: The start of a description's first line that keeps a relationship's source type.
SOURCE_TYPE_PREFIX: Final = "source type: "


def _key(text: str) -> str:
    return text.strip().replace("-", "_").replace(" ", "_")


def memory_type_of(text: str) -> MemoryType | None:
    """The MemoryType that `text` names (any case, spaces or hyphens for underscores), or None."""
    try:
        return MemoryType(_key(text).lower())
    except ValueError:
        return None


def relationship_type_of(text: str) -> RelationshipType | None:
    """The RelationshipType that `text` names (any case, spaces or hyphens for underscores),
    or None."""
    try:
        return RelationshipType(_key(text).upper())
    except ValueError:
        return None


def keep_source_type(original: str, description: str | None) -> str:
    """The description of a relationship whose source type `original` was mapped onto
    another type: the kept type on the first line, then the source's `description`."""
    line = SOURCE_TYPE_PREFIX + orjson.dumps(original).decode()
    return line if description is None else f"{line}\n{description}"


def kept_source_type(rel: Relationship) -> tuple[str, str | None] | None:
    """(source type, source description) kept in `rel`'s description, or None.

    None also when the kept text no longer maps onto `rel.type`, so a relationship
    whose type was changed after its import is written with its own type.
    """
    if rel.description is None or not rel.description.startswith(SOURCE_TYPE_PREFIX):
        return None
    head, newline, rest = rel.description.partition("\n")
    encoded = head[len(SOURCE_TYPE_PREFIX) :]
    try:
        original = orjson.loads(encoded)
    except orjson.JSONDecodeError:
        return None
    # Only the form keep_source_type writes counts, so the way back is exact.
    if not isinstance(original, str) or orjson.dumps(original).decode() != encoded:
        return None
    mapped = relationship_type_of(original) or RelationshipType.RELATED_TO
    if mapped is not rel.type:
        return None
    return original, (rest if newline else None)


def kept_memory_type(text: object, mtype: MemoryType) -> str | None:
    """`text`, a memory's kept source type, when it still maps onto `mtype`; else None."""
    if not isinstance(text, str):
        return None
    if (memory_type_of(text) or MemoryType.GENERAL) is not mtype:
        return None
    return text
