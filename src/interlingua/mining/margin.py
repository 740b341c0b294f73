"""Margin-based bitext mining in memory: k-NN search, margin scores and candidate selection.

The margin criterion is LASER's (Artetxe & Schwenk, "Margin-based parallel corpus mining with
multilingual sentence embeddings", ACL 2019; code: LASER ``source/mine_bitexts.py``).  Raw cosine
is not comparable across sentences: some sentences ("hubs") are close to everything.  The margin
divides (ratio) or offsets (distance) the cosine of a pair by the average similarity of each side
to its k nearest neighbours in the other language:

    a(x) = mean of cos(x, z) over the k nearest targets z of source x
    b(y) = mean of cos(y, z) over the k nearest sources z of target y
    ratio(x, y)    = cos(x, y) / ((a(x) + b(y)) / 2)
    distance(x, y) = cos(x, y) - (a(x) + b(y)) / 2
    absolute(x, y) = cos(x, y)

Candidate selection follows LASER's ``--retrieval`` modes: ``forward`` keeps, for every source, its
best-scoring target among its k neighbours; ``backward`` the same from every target; ``intersect``
keeps the pairs that are each other's best; ``max`` pools the forward and backward candidates and
keeps them greedily by descending score, each source and each target used at most once.

This module is the small in-RAM path (BUCC evaluation, reference tests).  The out-of-core pipeline
(``interlingua.mining.pipeline``) reuses ``best_by_margin`` and ``select_candidates`` so that both
paths make exactly the same decisions.
"""

from __future__ import annotations

import numpy as np

from interlingua.errors import ConfigError

MARGINS = ("ratio", "distance", "absolute")
MODES = ("forward", "backward", "max", "intersect")
_GREEDY_CHUNK = 65536


def check_margin(margin: str) -> None:
    if margin not in MARGINS:
        raise ConfigError(f"unknown margin {margin!r}: expected one of {', '.join(MARGINS)}")


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")


def knn_search(
    queries: np.ndarray, keys: np.ndarray, k: int, *, block_size: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k of each query among ``keys``, computed ``block_size`` queries at a time.

    Inputs are L2-normalised float32 rows, so the inner product is the cosine.  Returns
    ``(sims, ids)``: float32 and int64 arrays of shape (n_queries, k), each row sorted by
    descending similarity, ties by ascending key id.  ``k`` larger than the number of keys is
    reduced to it (as LASER does).  The returned similarities are recomputed by
    ``exact_cosines``, so they do not depend on the block size.
    """
    queries = np.asarray(queries, dtype=np.float32)
    keys = np.asarray(keys, dtype=np.float32)
    k = min(k, len(keys))
    sims_out = np.empty((len(queries), k), dtype=np.float32)
    ids_out = np.empty((len(queries), k), dtype=np.int64)
    if k == 0:
        return sims_out, ids_out
    for start in range(0, len(queries), block_size):
        block = queries[start : start + block_size]
        block_sims = block @ keys.T
        if k < block_sims.shape[1]:
            top = np.argpartition(block_sims, -k, axis=1)[:, -k:]
        else:
            top = np.broadcast_to(np.arange(k), block_sims.shape).copy()
        sims, ids = sort_neighbours(exact_cosines(block, keys[top]), top)
        sims_out[start : start + len(block)] = sims
        ids_out[start : start + len(block)] = ids
    return sims_out, ids_out


def exact_cosines(queries: np.ndarray, neighbour_rows: np.ndarray) -> np.ndarray:
    """Inner products of each query (n, d) with its neighbours' rows (n, k, d), float32.

    A matrix product's rounding depends on how the BLAS library blocks it, so the same pair can
    score differently in a different block.  Recomputing the few selected pairs in float64 makes
    every path (in-memory, blockwise, FAISS index) give the same scores bit for bit.
    """
    products = np.einsum(
        "nd,nkd->nk", np.asarray(queries, dtype=np.float64), np.asarray(neighbour_rows, dtype=np.float64)
    )
    return products.astype(np.float32)


def sort_neighbours(sims: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of a k-NN result by descending similarity, ties by ascending id."""
    order = np.lexsort((ids, -sims), axis=1)
    return np.take_along_axis(sims, order, axis=1), np.take_along_axis(ids, order, axis=1)


def neighbourhood_mean(sims: np.ndarray) -> np.ndarray:
    """Mean similarity of each row's k nearest neighbours (``a`` or ``b`` in the margin).

    Missing neighbours (similarity -inf, from an approximate index) are left out of the mean.
    """
    found = np.isfinite(sims)
    totals = np.where(found, sims, 0).sum(axis=1, dtype=np.float64)
    return (totals / np.maximum(found.sum(axis=1), 1)).astype(np.float32)


def margin_score(
    cos: np.ndarray, src_knn_mean: np.ndarray, tgt_knn_mean: np.ndarray, margin: str = "ratio"
) -> np.ndarray:
    """LASER's margin of cosine ``cos`` given the neighbourhood means of its source and target.

    ``src_knn_mean`` and ``tgt_knn_mean`` broadcast against ``cos``.  ratio: cos / ((a + b) / 2);
    distance: cos - (a + b) / 2; absolute: cos.  Returns float32.
    """
    check_margin(margin)
    cos = np.asarray(cos, dtype=np.float32)
    if margin == "absolute":
        return cos.copy()
    average = (np.asarray(src_knn_mean, dtype=np.float32) + np.asarray(tgt_knn_mean, dtype=np.float32)) / 2
    if margin == "ratio":
        return (cos / average).astype(np.float32)
    return (cos - average).astype(np.float32)


def best_by_margin(
    sims: np.ndarray, ids: np.ndarray, query_mean: np.ndarray, key_mean: np.ndarray, margin: str
) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the neighbour with the highest margin score, and that score.

    ``sims``/``ids`` are a block of k-NN results (rows sorted by similarity; a missing neighbour
    has id -1), ``query_mean`` the neighbourhood means of these queries, ``key_mean`` those of all
    keys (indexed by ``ids``).  On equal scores the more similar (earlier) neighbour wins.
    Returns (best_ids int64, scores float32); a query without neighbours gets -1 and -inf.
    """
    if sims.shape[1] == 0:
        return np.full(len(sims), -1, dtype=np.int64), np.full(len(sims), -np.inf, dtype=np.float32)
    missing = ids < 0
    scores = margin_score(sims, query_mean[:, None], key_mean[np.where(missing, 0, ids)], margin)
    scores[missing] = -np.inf
    column = scores.argmax(axis=1)
    rows = np.arange(len(sims))
    return ids[rows, column], scores[rows, column]


def select_candidates(
    forward_best: np.ndarray,
    forward_scores: np.ndarray,
    backward_best: np.ndarray,
    backward_scores: np.ndarray,
    mode: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LASER's candidate retrieval from each side's best neighbour.

    ``forward_best[i]`` is source i's best target, ``backward_best[j]`` target j's best source.
    Returns (scores float32, src_ids int64, tgt_ids int64), sorted by descending score, then source
    id, then target id.
    """
    check_mode(mode)
    src_range = np.arange(len(forward_best), dtype=np.int64)
    tgt_range = np.arange(len(backward_best), dtype=np.int64)
    if mode == "forward":
        scores, src, tgt = forward_scores, src_range, forward_best
    elif mode == "backward":
        scores, src, tgt = backward_scores, backward_best, tgt_range
    elif mode == "intersect":
        valid = forward_best >= 0
        mutual = np.zeros(len(forward_best), dtype=bool)
        mutual[valid] = backward_best[forward_best[valid]] == src_range[valid]
        scores, src, tgt = forward_scores[mutual], src_range[mutual], forward_best[mutual]
    else:
        scores, src, tgt = _greedy_one_to_one(
            np.concatenate([forward_scores, backward_scores]),
            np.concatenate([src_range, backward_best]),
            np.concatenate([forward_best, tgt_range]),
        )
    keep = (src >= 0) & (tgt >= 0)
    scores, src, tgt = scores[keep], src[keep], tgt[keep]
    order = np.lexsort((tgt, src, -scores))
    return scores[order].astype(np.float32), src[order], tgt[order]


def _greedy_one_to_one(
    scores: np.ndarray, src: np.ndarray, tgt: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LASER's ``max`` retrieval: best first, skipping a pair whose source or target is taken.

    A pair found in both directions appears twice with the same score; its second copy is skipped.
    The stable sort keeps forward candidates before backward ones on equal scores, so the outcome
    is deterministic (LASER's unstable argsort leaves ties to chance).
    """
    order = np.argsort(-scores, kind="stable")
    src_taken = bytearray(int(src.max(initial=-1)) + 1)
    tgt_taken = bytearray(int(tgt.max(initial=-1)) + 1)
    keep = np.zeros(len(scores), dtype=bool)
    # Chunks bound the Python integers alive at once (millions of candidates at scale).
    for start in range(0, len(order), _GREEDY_CHUNK):
        chunk = order[start : start + _GREEDY_CHUNK]
        for position, s, t in zip(chunk.tolist(), src[chunk].tolist(), tgt[chunk].tolist(), strict=True):
            if s < 0 or t < 0 or src_taken[s] or tgt_taken[t]:
                continue
            src_taken[s] = tgt_taken[t] = 1
            keep[position] = True
    return scores[keep], src[keep], tgt[keep]


def mine_in_memory(
    src: np.ndarray, tgt: np.ndarray, *, k: int = 4, margin: str = "ratio", mode: str = "max"
) -> list[tuple[float, int, int]]:
    """Mine candidate pairs between two L2-normalised embedding matrices held in RAM.

    Returns ``(score, src_id, tgt_id)`` (0-based row ids) for every candidate of ``mode``, sorted
    by descending score, one per source (forward), per target (backward), or per source and per
    target (intersect, max), as LASER's ``mine_bitexts.py`` does.  No threshold is applied.
    """
    check_margin(margin)
    check_mode(mode)
    src = np.asarray(src, dtype=np.float32)
    tgt = np.asarray(tgt, dtype=np.float32)
    forward_sims, forward_ids = knn_search(src, tgt, k)
    backward_sims, backward_ids = knn_search(tgt, src, k)
    src_mean = neighbourhood_mean(forward_sims)
    tgt_mean = neighbourhood_mean(backward_sims)
    forward_best, forward_scores = best_by_margin(forward_sims, forward_ids, src_mean, tgt_mean, margin)
    backward_best, backward_scores = best_by_margin(backward_sims, backward_ids, tgt_mean, src_mean, margin)
    scores, src_ids, tgt_ids = select_candidates(
        forward_best, forward_scores, backward_best, backward_scores, mode
    )
    return list(zip(scores.tolist(), src_ids.tolist(), tgt_ids.tolist(), strict=True))
