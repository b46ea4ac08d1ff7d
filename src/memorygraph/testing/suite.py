"""The backend contract suite: one set of tests every backend must pass, unchanged.

A backend's test module subclasses `BackendContractSuite` and supplies one
fixture, `backend_config`: a `BackendConfig` for an *empty* store. The suite
opens backends itself (several times where persistence matters).

`BackendContractSuite` is every contract mixin at once (`memorygraph.testing.contract`,
one module per part of the contract, plus namespaces and concurrent writers). A test
or mixin that holds a backend to an optional capability says so with
`@requires(capability)`; on a backend whose `BackendSpec` does not declare it, the
test, or every test of the mixin, is skipped, saying which.
"""

from __future__ import annotations

from memorygraph.testing.concurrency import ConcurrentEditsContract
from memorygraph.testing.contract import (
    BulkInsertContract,
    ChangesContract,
    CopiesOwnStoresContract,
    LifecycleContract,
    ReadsContract,
    RoundTripContract,
    SearchContract,
    SnapshotReadsContract,
    VectorsContract,
    WritesContract,
)
from memorygraph.testing.contract.base import REQUIRES as REQUIRES
from memorygraph.testing.contract.base import requires as requires
from memorygraph.testing.contract.records import MEMORY_CHANGES as MEMORY_CHANGES
from memorygraph.testing.contract.records import MEMORY_EDITS as MEMORY_EDITS
from memorygraph.testing.contract.records import RELATIONSHIP_CHANGES as RELATIONSHIP_CHANGES
from memorygraph.testing.contract.records import RELATIONSHIP_EDITS as RELATIONSHIP_EDITS
from memorygraph.testing.contract.records import T0 as T0
from memorygraph.testing.contract.records import collect as collect
from memorygraph.testing.contract.records import edit_memory as edit_memory
from memorygraph.testing.contract.records import edit_relationship as edit_relationship
from memorygraph.testing.contract.records import mem as mem
from memorygraph.testing.contract.records import rel as rel
from memorygraph.testing.contract.search import EXPECTED_RANKINGS as EXPECTED_RANKINGS
from memorygraph.testing.contract.search import found_ids as found_ids
from memorygraph.testing.contract.search import search_corpus as search_corpus
from memorygraph.testing.namespaces import NamespacesContract


class BackendContractSuite(
    LifecycleContract,
    WritesContract,
    ReadsContract,
    ChangesContract,
    SearchContract,
    RoundTripContract,
    SnapshotReadsContract,
    VectorsContract,
    BulkInsertContract,
    CopiesOwnStoresContract,
    NamespacesContract,
    ConcurrentEditsContract,
):
    """Subclass and provide a `backend_config` fixture for an empty store."""
