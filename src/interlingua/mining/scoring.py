"""The margin-scoring stage: from the k-NN results of both directions to each sentence's best match.

Streams the stored neighbour lists block by block.  First the neighbourhood means of every
source and every target (the ``a`` and ``b`` of LASER's margin), then, for each query, the
neighbour with the highest margin (``margin.best_by_margin``).  Only the means and the results,
a few bytes per sentence, stay in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from interlingua.mining.margin import best_by_margin, neighbourhood_mean
from interlingua.mining.store import MatrixFile


def neighbourhood_means(knn_folder: Path, name: str, block_rows: int) -> np.ndarray:
    """Mean similarity of each query of direction ``name`` to its k neighbours."""
    sims = MatrixFile(knn_folder / f"{name}.sims.npy")
    rows = sims.shape[0]
    means = np.empty(rows, dtype=np.float32)
    for start in range(0, rows, block_rows):
        stop = min(start + block_rows, rows)
        means[start:stop] = neighbourhood_mean(sims.read(start, stop))
    return means


def best_matches(
    knn_folder: Path,
    name: str,
    query_means: np.ndarray,
    key_means: np.ndarray,
    margin: str,
    block_rows: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's best neighbour by margin score and that score (-1 and -inf when it has none)."""
    sims = MatrixFile(knn_folder / f"{name}.sims.npy")
    ids = MatrixFile(knn_folder / f"{name}.ids.npy")
    rows = sims.shape[0]
    best = np.empty(rows, dtype=np.int64)
    scores = np.empty(rows, dtype=np.float32)
    for start in range(0, rows, block_rows):
        stop = min(start + block_rows, rows)
        best[start:stop], scores[start:stop] = best_by_margin(
            sims.read(start, stop),
            ids.read(start, stop, dtype=None),
            query_means[start:stop],
            key_means,
            margin,
        )
    return best, scores
