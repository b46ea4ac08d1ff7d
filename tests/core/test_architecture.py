"""The package's modules form layers (`tests/core/layers.py`): no module imports one in
a higher layer, no modules import each other round a circle, and docs/ARCHITECTURE.md
draws the layers as they are defined."""

from __future__ import annotations

import pytest

from tests.core import layers


@pytest.fixture(scope="module")
def graph() -> dict[str, list[layers.Edge]]:
    return layers.import_graph()


def test_every_module_has_a_layer(graph: dict[str, list[layers.Edge]]) -> None:
    homeless = sorted(m for m in graph if layers.layer_of(m) is None)
    assert not homeless, f"modules in no layer (add them to tests/core/layers.py): {homeless}"


def test_no_module_imports_round_a_circle(graph: dict[str, list[layers.Edge]]) -> None:
    circles = layers.cycles(graph)
    described = []
    for group in circles:
        members = set(group)
        arrows = [str(e) for m in group for e in graph[m] if e.target in members]
        described.append(" <-> ".join(group) + "\n    " + "\n    ".join(arrows))
    assert not circles, "import circles:\n" + "\n".join(described)


def test_no_module_imports_a_higher_layer(graph: dict[str, list[layers.Edge]]) -> None:
    names = [layer.name for layer in layers.LAYERS]
    found = [
        f"{edge} ({names[layers.layer_of(edge.source) or 0]} -> "
        f"{names[layers.layer_of(edge.target) or 0]})"
        for edge in layers.upward(graph)
    ]
    assert not found, "imports from a lower layer to a higher one:\n" + "\n".join(found)


def test_the_architecture_document_draws_the_layers() -> None:
    drawn = layers.documented_picture(layers.DOC.read_text())
    assert drawn == layers.picture(), (
        "docs/ARCHITECTURE.md does not draw the layers of tests/core/layers.py; "
        "run: python -m tests.core.layers --write"
    )


def test_every_layer_entry_names_a_module(graph: dict[str, list[layers.Edge]]) -> None:
    missing = [m for layer in layers.LAYERS for m in layer.modules if m not in graph]
    assert not missing, f"layers name modules that do not exist: {missing}"


# The checks themselves, on small sources.


@pytest.mark.parametrize(
    "source",
    [
        "import memorygraph.store",
        "from memorygraph import store",
        "from memorygraph.store import MemoryStore",
        "def f():\n    from memorygraph.store import MemoryStore",
        "if TYPE_CHECKING:\n    from memorygraph.store import MemoryStore",
        "from . import store",
    ],
)
def test_each_way_of_importing_is_an_edge(source: str) -> None:
    known = {"memorygraph", "memorygraph.store", "memorygraph.models"}
    edges = layers.imports_of("memorygraph.models", source, known)
    assert [e.target for e in edges] == ["memorygraph.store"]


def test_a_circle_is_found_and_a_chain_is_not() -> None:
    def graph(*pairs: tuple[str, str]) -> dict[str, list[layers.Edge]]:
        g: dict[str, list[layers.Edge]] = {}
        for a, b in pairs:
            g.setdefault(a, []).append(layers.Edge(a, b, 1))
            g.setdefault(b, [])
        return g

    assert layers.cycles(graph(("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"))) == [["a", "b", "c"]]
    assert layers.cycles(graph(("a", "b"), ("b", "c"), ("a", "c"))) == []


def test_an_upward_import_is_found() -> None:
    down = layers.Edge("memorygraph.store", "memorygraph.models", 1)
    up = layers.Edge("memorygraph.models", "memorygraph.store", 1)
    same = layers.Edge("memorygraph.store", "memorygraph.migration.manager", 1)
    graph = {"memorygraph.store": [down, same], "memorygraph.models": [up]}
    assert layers.upward(graph) == [up]


def test_the_longest_entry_decides_the_layer() -> None:
    assert layers.layer_of("memorygraph.search.hybrid") != layers.layer_of(
        "memorygraph.search.ranking"
    )
    assert layers.layer_of("memorygraph") == len(layers.LAYERS) - 1
