"""An exact nearest-neighbour scan over vectors held in memory, for engines without a
vector index of their own (SQLite).

A query's similarity with every vector is one float32 matrix-vector product;
the vectors near the top of it are then scored again in float64, and those
scores (rounded to 6 digits) rank them. The float32 pass only chooses which
vectors to score: its error is bounded, and every vector whose float32 score
lies within that bound of the last place is scored again, so the result is
the exact ranking (no approximation) and does not depend on the BLAS kernel,
its threads or a vector's row in the matrix. Every engine that rescores its
candidates here (the Cypher engines do) therefore agrees with SQLite to the
last digit.

The vectors are held one per *column* (dimensions × vectors, C order): the
product then streams the matrix once with a kernel that, measured at 100,000
memories of 384 dimensions (150 MB) on a busy 2-core machine, took half the
time of the row-per-vector layout (7 ms against 14 ms on one thread). Needs
numpy, which the `semantic` extra brings; nothing imports this module without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

#: Unit roundoff of float32.
_FLOAT32_ROUNDOFF = 2.0**-24
#: Vectors copied into the matrix per step: a block small enough to stay in the cache
#: while it is transposed (1,024 of 384 dimensions: 1.5 MB). Measured on 100,000 such
#: vectors: 105 ms to build, against 175 ms with blocks of 8,192.
_BUILD_CHUNK = 1024
#: Digits the similarities are rounded to.
DIGITS = 6


class VectorScan:
    """The vectors of one store at one moment, ranked by cosine similarity.

    `update` brings it to a later moment from the vectors that changed, in place: a
    store that adds or drops a few vectors between queries is not read whole again.
    """

    def __init__(self, ids: Sequence[str], vectors: Sequence[bytes]) -> None:
        #: The id of each column in use, in column order.
        self.ids: list[str] = []
        self._column: dict[str, int] = {}
        #: Room for more columns than are in use: `update` appends without a copy.
        self.columns: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        #: The largest norm of a vector held (1 for normalised vectors), for the
        #: error bound; never lowered, which only costs a few more rescored vectors.
        self._largest_norm = 0.0
        self._append(ids, vectors)

    def __len__(self) -> int:
        return len(self.ids)

    def update(self, changed: Mapping[str, bytes | None]) -> None:
        """Hold each vector of `changed` instead of the one held under its id (None:
        hold none for it any more). Afterwards the scan ranks exactly as one built
        anew from the same vectors would."""
        added: dict[str, bytes] = {}
        for memory_id, vector in changed.items():
            column = self._column.get(memory_id)
            if vector is None:
                if column is not None:
                    self._remove(column)
            elif column is None:
                added[memory_id] = vector
            else:
                row = np.frombuffer(vector, dtype="<f4")
                self._check_dimensions(row.shape[0])
                self.columns[:, column] = row
                self._note_norms(row.reshape(1, -1))
        self._append(list(added), list(added.values()))

    def _remove(self, column: int) -> None:
        """Drop one column: the last one in use moves into its place."""
        last = len(self.ids) - 1
        removed = self.ids[column]
        if column != last:
            moved = self.ids[last]
            self.columns[:, column] = self.columns[:, last]
            self.ids[column] = moved
            self._column[moved] = column
        self.ids.pop()
        del self._column[removed]

    def _append(self, ids: Sequence[str], vectors: Sequence[bytes]) -> None:
        if not vectors:
            return
        dimensions = len(vectors[0]) // 4
        self._check_dimensions(dimensions)
        held = len(self.ids)
        if dimensions != self.columns.shape[0] or held + len(vectors) > self.columns.shape[1]:
            # A quarter more room than needed (memory not touched until used): appends
            # stay cheap, and a copy of the whole matrix stays rare.
            room = held + len(vectors)
            room += room // 4
            columns = np.empty((dimensions, room), dtype=np.float32)
            if held:
                columns[:, :held] = self.columns[:, :held]
            self.columns = columns
        for start in range(0, len(vectors), _BUILD_CHUNK):
            rows = np.frombuffer(
                b"".join(vectors[start : start + _BUILD_CHUNK]), dtype="<f4"
            ).reshape(-1, dimensions)
            at = held + start
            self.columns[:, at : at + len(rows)] = rows.T
            self._note_norms(rows)
        for offset, memory_id in enumerate(ids):
            self._column[memory_id] = held + offset
        self.ids.extend(ids)

    def _check_dimensions(self, dimensions: int) -> None:
        """ValueError unless vectors of `dimensions` go with those held (any go with none)."""
        if self.ids and dimensions != self.columns.shape[0]:
            raise ValueError(f"vectors of {dimensions} dimensions among {self.columns.shape[0]}")

    def _note_norms(self, rows: npt.NDArray[np.float32]) -> None:
        norms = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
        self._largest_norm = max(self._largest_norm, float(np.sqrt(norms.max())))

    def nearest(self, vector: bytes, limit: int) -> list[tuple[str, float]]:
        """The `limit` most similar (id, cosine), best first, ties by id: the first
        `limit` of every vector ordered by (-round(cosine, 6), id)."""
        if not self.ids or limit <= 0:
            return []
        query = np.frombuffer(vector, dtype="<f4")
        if query.shape[0] != self.columns.shape[0]:
            return []
        count = min(limit, len(self.ids))
        query64 = query.astype(np.float64)
        if count < len(self.ids):
            rough = query @ self.columns[:, : len(self.ids)]
            last = _kth_largest(rough, count)
            chosen = np.flatnonzero(rough >= last - self._margin(query64))
        else:
            chosen = np.arange(len(self.ids))
        exact = self.columns[:, chosen].T.astype(np.float64) @ query64
        pairs = [
            (self.ids[i], round(float(s), DIGITS))
            for i, s in zip(chosen.tolist(), exact.tolist(), strict=True)
        ]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs[:count]

    def _margin(self, query: npt.NDArray[np.float64]) -> float:
        """How far below the float32 score of the `limit`-th vector a vector may score
        in float32 and still belong in the result.

        A float32 dot product of d terms is within γ_d·Σ|qᵢvᵢ| ≤ γ_d·|q|·|v| of the
        exact one, whatever the order of its sums (γ_d = d·u / (1 - d·u), u the unit
        roundoff). The `limit` vectors that score best in float32 are each at most
        that far above their exact score, so the exact `limit`-th best is at most one
        bound below the float32 `limit`-th; a vector of the result is at most one
        bound below its exact score: two bounds. One more rounding step (10⁻⁶) keeps
        the vectors whose rounded score ties the last place's.
        """
        du = len(query) * _FLOAT32_ROUNDOFF
        gamma = du / (1.0 - du)
        query_norm = float(np.sqrt(np.dot(query, query)))
        # Twice the two bounds: a factor to spare for the rounding of the norms and of
        # the subtraction itself, which costs a few more vectors scored again.
        return 4.0 * gamma * query_norm * self._largest_norm + 10.0**-DIGITS


def _kth_largest(values: npt.NDArray[np.float32], k: int) -> float:
    """The `k`-th largest of `values` (1 <= k <= len(values))."""
    # Every step-th value is a sample holding at least k values no smaller than its
    # own k-th largest, so the whole holds at least k too: the answer is among the
    # values at or above that one, about step × k of them. Two small partitions and
    # one comparison cost an eighth of a partition of 100,000 values.
    step = math.isqrt(len(values) // k)
    if step > 1:
        sample = values[::step]
        values = values[values >= np.partition(sample, len(sample) - k)[len(sample) - k]]
    return float(np.partition(values, len(values) - k)[len(values) - k])
