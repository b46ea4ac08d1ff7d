"""A capability mark on a contract mixin gates every test of that mixin, and only those,
wherever the mixin is joined with others."""

from __future__ import annotations

import pytest

from memorygraph.backends.spec import SNAPSHOT_READS, VECTORS
from memorygraph.testing.contract.base import required_capabilities, requires


@requires(SNAPSHOT_READS)
class Gated:
    def test_gated(self) -> None: ...


class Open:
    def test_open(self) -> None: ...

    @requires(VECTORS)
    def test_marked(self) -> None: ...


class Joined(Open, Gated):
    pass


class Overriding(Joined):
    def test_gated(self) -> None: ...


def test_a_marked_mixin_gates_its_own_tests_only() -> None:
    assert required_capabilities(Joined, Joined.test_gated) == [SNAPSHOT_READS]
    assert required_capabilities(Joined, Joined.test_open) == []
    assert required_capabilities(Joined, Joined.test_marked) == [VECTORS]


def test_a_test_overriding_a_gated_one_stays_gated() -> None:
    assert required_capabilities(Overriding, Overriding.test_gated) == [SNAPSHOT_READS]


def test_a_marked_subclass_of_a_marked_mixin_needs_both_marks() -> None:
    @requires(VECTORS)
    class More(Gated):
        def test_more(self) -> None: ...

    assert set(required_capabilities(More, More.test_gated)) == {SNAPSHOT_READS, VECTORS}
    assert required_capabilities(More, More.test_more) == [VECTORS]
    assert vars(Gated)["memorygraph_requires"] == (SNAPSHOT_READS,)


def test_an_unknown_capability_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown capabilit"):
        requires("teleportation")
