"""The backend contract suite, for every backend: built in, or added from outside.

Needs pytest, pytest-asyncio (with ``asyncio_mode = "auto"``) and hypothesis,
which memorygraph itself does not depend on; `import memorygraph` never imports
this package. A backend's tests are one class::

    import pytest
    from memorygraph.config import BackendConfig
    from memorygraph.testing import BackendContractSuite

    @pytest.fixture
    def backend_config(tmp_path) -> BackendConfig:      # an empty store per test
        return BackendConfig("my-engine", path=tmp_path / "store")

    class TestMyEngine(BackendContractSuite):
        pass

The suite joins one mixin per part of the contract (`memorygraph.testing.contract`);
a class may subclass only some of them. Tests, and whole mixins, that need a
capability a backend may lack are marked `@requires(...)` and skipped on backends
whose spec does not declare it. `strategies` holds the
hypothesis strategies for valid records.
"""

from memorygraph.testing.suite import (
    EXPECTED_RANKINGS,
    MEMORY_EDITS,
    RELATIONSHIP_EDITS,
    BackendContractSuite,
    collect,
    edit_memory,
    edit_relationship,
    found_ids,
    mem,
    rel,
    requires,
    search_corpus,
)

__all__ = [
    "EXPECTED_RANKINGS",
    "MEMORY_EDITS",
    "RELATIONSHIP_EDITS",
    "BackendContractSuite",
    "collect",
    "edit_memory",
    "edit_relationship",
    "found_ids",
    "mem",
    "rel",
    "requires",
    "search_corpus",
]
