"""An exact nearest-neighbour scan over vectors held in memory, for engines without a
vector index of their own (SQLite).

Every vector is a row of one float32 matrix; a query is one matrix-vector
product and a partial sort, exact (no approximation), so every engine that
ranks by cosine similarity agrees with it. At 100,000 memories of 384
dimensions the matrix takes 150 MB and a query about 4.4 ms on one thread of
a quiet 2-core machine (3 ms on two). Needs numpy, which the `semantic` extra
brings; nothing imports this module without it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


class VectorScan:
    """The vectors of one store at one moment (`stamp`), ranked by cosine similarity."""

    def __init__(self, stamp: object, ids: Sequence[str], vectors: Sequence[bytes]) -> None:
        self.stamp = stamp
        self.ids = list(ids)
        matrix: npt.NDArray[np.float32]
        if vectors:
            matrix = np.frombuffer(b"".join(vectors), dtype="<f4").reshape(len(vectors), -1)
        else:
            matrix = np.zeros((0, 0), dtype=np.float32)
        self.matrix = matrix

    def nearest(self, vector: bytes, limit: int) -> list[tuple[str, float]]:
        """The `limit` most similar (id, cosine), best first, ties by id."""
        if not self.ids or limit <= 0:
            return []
        query = np.frombuffer(vector, dtype="<f4")
        if query.shape[0] != self.matrix.shape[1]:
            return []
        sims = self.matrix @ query
        count = min(limit, len(self.ids))
        top = np.argpartition(-sims, count - 1)[:count] if count < len(self.ids) else None
        chosen = range(len(self.ids)) if top is None else top.tolist()
        pairs = [(self.ids[i], round(float(sims[i]), 6)) for i in chosen]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs
