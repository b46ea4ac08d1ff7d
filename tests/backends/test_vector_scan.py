"""The exact vector scan: its ranking is the exact cosine order, rounded to 6 digits, ties
by id, whatever the float32 pass chose and wherever a vector sits in the matrix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

np = pytest.importorskip("numpy")

from memorygraph.backends.vector_scan import VectorScan  # noqa: E402

DIMENSIONS = 48


def _unit(rows: object) -> object:
    matrix = np.asarray(rows, dtype=np.float64)
    return (matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)).astype("<f4")


def _store(seed: int, distinct: int, copies: int) -> tuple[list[str], list[bytes]]:
    """`distinct` random unit vectors, each stored `copies` times under other ids (so
    the best ones tie), in an order that mixes the copies."""
    rng = np.random.default_rng(seed)
    base = _unit(rng.normal(size=(distinct, DIMENSIONS)))
    order = rng.permutation(distinct * copies)
    ids = [f"m{i:05d}" for i in order]
    vectors = [base[i % distinct].tobytes() for i in order]
    return ids, vectors


def _exact(
    ids: list[str], vectors: list[bytes], query: bytes, limit: int
) -> list[tuple[str, float]]:
    """The definition: every vector's cosine in float64, rounded, best first, ties by id."""
    q = np.frombuffer(query, dtype="<f4").astype(np.float64)
    scored = [
        (i, round(float(np.frombuffer(v, dtype="<f4").astype(np.float64) @ q), 6))
        for i, v in zip(ids, vectors, strict=True)
    ]
    return sorted(scored, key=lambda p: (-p[1], p[0]))[:limit]


@pytest.mark.parametrize("limit", [1, 7, 50, 400])
def test_the_nearest_are_the_exact_ranking_with_ties_by_id(limit: int) -> None:
    ids, vectors = _store(seed=limit, distinct=300, copies=5)
    scan = VectorScan(ids, vectors)
    rng = np.random.default_rng(100 + limit)
    for near in rng.integers(0, len(vectors), 12):
        # Queries close to a stored vector: its five copies tie at the top, and the
        # limit often falls inside a group of copies.
        noisy = np.frombuffer(vectors[near], dtype="<f4") + rng.normal(0, 0.05, DIMENSIONS)
        query = _unit(noisy).tobytes()
        assert scan.nearest(query, limit) == _exact(ids, vectors, query, limit)


def test_a_vector_scores_the_same_in_any_store_that_holds_it() -> None:
    ids, vectors = _store(seed=7, distinct=500, copies=2)
    query = _unit(np.random.default_rng(8).normal(size=DIMENSIONS)).tobytes()
    whole = dict(VectorScan(ids, vectors).nearest(query, len(ids)))
    # A few of the vectors, in another order (an engine that scores its index's
    # candidates again hands the scan just those).
    picked = list(range(0, len(ids), 37))[::-1]
    part = VectorScan([ids[i] for i in picked], [vectors[i] for i in picked])
    assert dict(part.nearest(query, len(picked))) == {ids[i]: whole[ids[i]] for i in picked}


def test_an_empty_store_a_zero_limit_or_another_dimension_finds_nothing() -> None:
    ids, vectors = _store(seed=9, distinct=20, copies=1)
    query = vectors[0]
    assert VectorScan([], []).nearest(query, 5) == []
    assert VectorScan(ids, vectors).nearest(query, 0) == []
    assert VectorScan(ids, vectors).nearest(query[:-4], 5) == []
    assert VectorScan(ids, vectors).nearest(query, 5)[0] == (ids[0], 1.0)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(0, 10_000))),
        min_size=1,
        max_size=60,
    ),
    batch=st.integers(1, 8),
)
def test_a_scan_brought_up_to_date_ranks_as_one_built_anew(
    steps: list[tuple[int, int | None]], batch: int
) -> None:
    # Ids 0-40, each step writing a vector (seeded by the second number) or dropping
    # one; the steps reach the scan `batch` at a time, as writes reach a reader.
    rng = np.random.default_rng(1)
    start_ids, start_vectors = _store(seed=3, distinct=12, copies=2)
    held = dict(zip(start_ids, start_vectors, strict=True))
    scan = VectorScan(start_ids, start_vectors)
    for first in range(0, len(steps), batch):
        changed: dict[str, bytes | None] = {}
        for number, seed in steps[first : first + batch]:
            memory_id = f"m{number:05d}"
            if seed is None:
                held.pop(memory_id, None)
                changed[memory_id] = None
            else:
                vector = _unit(np.random.default_rng(seed).normal(size=DIMENSIONS)).tobytes()
                held[memory_id] = changed[memory_id] = vector
        scan.update(changed)
        assert sorted(scan.ids) == sorted(held)
        query = _unit(rng.normal(size=DIMENSIONS)).tobytes()
        for limit in (1, 5, len(held) + 1):
            assert scan.nearest(query, limit) == _exact(
                list(held), list(held.values()), query, limit
            )


def test_a_vector_of_another_length_is_refused_and_the_scan_is_unchanged() -> None:
    ids, vectors = _store(seed=4, distinct=5, copies=1)
    scan = VectorScan(ids, vectors)
    with pytest.raises(ValueError, match="dimensions"):
        scan.update({"new": vectors[0][:-4]})
    with pytest.raises(ValueError, match="dimensions"):
        scan.update({ids[0]: vectors[0][:-4]})
    assert sorted(scan.ids) == sorted(ids)
