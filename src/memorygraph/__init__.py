"""memorygraph: a graph memory store for AI coding agents.

The public API is re-exported here; everything else is an implementation detail.
"""

from memorygraph.config import BackendConfig, BackendType
from memorygraph.errors import MemoryGraphError
from memorygraph.models import (
    Memory,
    MemoryContext,
    MemoryType,
    Relationship,
    RelationshipType,
    Visibility,
)

__version__ = "0.1.0"

__all__ = [
    "BackendConfig",
    "BackendType",
    "Memory",
    "MemoryContext",
    "MemoryGraphError",
    "MemoryType",
    "Relationship",
    "RelationshipType",
    "Visibility",
    "__version__",
]
