"""The backend contract suite, one mixin per part of the contract.

Each module holds one mixin and says what it checks; `memorygraph.testing.suite`
joins them all into `BackendContractSuite`. A backend's tests may subclass that, or
only the mixins they want. A mixin for an optional capability is marked with
`requires` and skipped as a whole on a backend whose spec does not declare it.

=======================  ==========================================  =================
mixin                    checks                                      capability
=======================  ==========================================  =================
LifecycleContract        health, reopen, read-only stores            (every backend)
WritesContract           upserts, reports, hooks, dry runs, deletes  (every backend)
ReadsContract            lookups, paging, digests, counts, walks     (every backend)
ChangesContract          `since` by write stamp, tombstones, purge   (every backend)
SearchContract           search and recall rankings                  (every backend)
RoundTripContract        any record round trips exactly              (every backend)
SnapshotReadsContract    reads inside one snapshot                   snapshot_reads
VectorsContract          vectors kept, ranked, dropped               vectors
BulkInsertContract       known-new batches in `bulk_insert()`        bulk_insert
CopiesOwnStoresContract  a copy of a store of the same backend       copies_own_stores
=======================  ==========================================  =================

Namespaces (`memorygraph.testing.namespaces`) and concurrent writers
(`memorygraph.testing.concurrency`) are mixins of their own, included in the suite.
"""

from memorygraph.testing.contract.base import ContractBase, requires
from memorygraph.testing.contract.changes import ChangesContract
from memorygraph.testing.contract.copies import BulkInsertContract, CopiesOwnStoresContract
from memorygraph.testing.contract.lifecycle import LifecycleContract
from memorygraph.testing.contract.reads import ReadsContract
from memorygraph.testing.contract.round_trips import RoundTripContract
from memorygraph.testing.contract.search import SearchContract
from memorygraph.testing.contract.snapshots import SnapshotReadsContract
from memorygraph.testing.contract.vectors import VectorsContract
from memorygraph.testing.contract.writes import WritesContract

__all__ = [
    "BulkInsertContract",
    "ChangesContract",
    "ContractBase",
    "CopiesOwnStoresContract",
    "LifecycleContract",
    "ReadsContract",
    "RoundTripContract",
    "SearchContract",
    "SnapshotReadsContract",
    "VectorsContract",
    "WritesContract",
    "requires",
]
