"""The out-of-core pipeline in exact mode against a brute-force numpy reference.

The reference below is written independently of ``interlingua.mining``: the full similarity
matrix in float64, a full sort per row, LASER's margin and retrieval rules spelled out with Python
loops.  The pipeline runs with blocks of a few dozen rows, so every block boundary is crossed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interlingua.mining.margin import mine_in_memory
from interlingua.mining.pipeline import run_mining

from .synthetic import make_corpus, read_tsv, small_block_memory

N_SRC, N_TGT, DIM, K = 2000, 1700, 24, 4


def brute_force(
    src: np.ndarray, tgt: np.ndarray, k: int, margin: str, mode: str
) -> list[tuple[float, int, int]]:
    src = src / np.linalg.norm(src, axis=1, keepdims=True)
    tgt = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    sims = src.astype(np.float64) @ tgt.astype(np.float64).T
    forward = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    backward = np.argsort(-sims.T, axis=1, kind="stable")[:, :k]
    a = np.take_along_axis(sims, forward, axis=1).mean(axis=1)
    b = np.take_along_axis(sims.T, backward, axis=1).mean(axis=1)

    def score(i: int, j: int) -> float:
        cos, average = sims[i, j], (a[i] + b[j]) / 2
        return {"ratio": cos / average, "distance": cos - average, "absolute": cos}[margin]

    def best(candidates: np.ndarray, pair) -> tuple[int, float]:
        scored = [(score(*pair(c)), -position, c) for position, c in enumerate(candidates)]
        value, _, chosen = max(scored)
        return int(chosen), value

    fwd = [best(forward[i], lambda j, i=i: (i, j)) for i in range(len(src))]
    bwd = [best(backward[j], lambda i, j=j: (i, j)) for j in range(len(tgt))]
    if mode == "forward":
        pairs = [(s, i, j) for i, (j, s) in enumerate(fwd)]
    elif mode == "backward":
        pairs = [(s, i, j) for j, (i, s) in enumerate(bwd)]
    elif mode == "intersect":
        pairs = [(s, i, j) for i, (j, s) in enumerate(fwd) if bwd[j][0] == i]
    else:
        pooled = [(s, i, j) for i, (j, s) in enumerate(fwd)] + [(s, i, j) for j, (i, s) in enumerate(bwd)]
        used_src, used_tgt, pairs = set(), set(), []
        for s, i, j in sorted(pooled, key=lambda p: -p[0]):
            if i not in used_src and j not in used_tgt:
                used_src.add(i)
                used_tgt.add(j)
                pairs.append((s, i, j))
    return sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    return make_corpus(tmp_path_factory.mktemp("reference"), N_SRC, N_TGT, DIM)


@pytest.mark.parametrize(
    ("margin", "mode"),
    [
        ("ratio", "max"),
        ("ratio", "forward"),
        ("ratio", "backward"),
        ("ratio", "intersect"),
        ("distance", "max"),
        ("absolute", "intersect"),
    ],
)
def test_exact_pipeline_matches_brute_force(corpus, tmp_path_factory, margin: str, mode: str) -> None:
    work = tmp_path_factory.getbasetemp() / "reference-work"  # shared: later cases reuse the k-NN stage
    output = tmp_path_factory.mktemp("out") / "pairs.tsv"
    memory = small_block_memory(N_SRC, N_TGT, DIM, K, extra_rows=64)
    summary = run_mining(
        corpus.config(output, margin=margin, mode=mode, max_memory=memory, work_dir=work, dedup=False)
    )
    assert summary["plan"]["query_rows"] < N_TGT // 10, "the test must cross many block boundaries"
    assert summary["plan"]["key_rows"] < N_TGT // 2, "and merge the top-k of several key blocks"

    expected = brute_force(corpus.src, corpus.tgt, K, margin, mode)
    rows = read_tsv(output)
    mined = [(float(r[0]), int(r[3]) - 1, int(r[4]) - 1) for r in rows]
    # Same pairs with the same scores (float32 against float64: 1e-6).  Pairs whose scores differ
    # by less than that may be listed in either order, so compare them keyed by pair.
    mined_scores = {(i, j): s for s, i, j in mined}
    expected_scores = {(i, j): s for s, i, j in expected}
    assert len(mined) == len(mined_scores) == len(expected)
    assert mined_scores.keys() == expected_scores.keys()
    pairs = sorted(expected_scores)
    np.testing.assert_allclose(
        [mined_scores[p] for p in pairs], [expected_scores[p] for p in pairs], atol=1e-6
    )
    assert (np.diff([s for s, _, _ in mined]) <= 0).all(), "output sorted by descending score"
    assert all(
        r[1] == f"source sentence {int(r[3]) - 1}" and r[2] == f"target sentence {int(r[4]) - 1}"
        for r in rows
    )

    # Against the in-memory path the stored scores agree bit for bit.
    in_memory = mine_in_memory(
        _normalised(corpus.src), _normalised(corpus.tgt), k=K, margin=margin, mode=mode
    )
    stored = np.load(Path(work) / "select" / "scores.npy")
    np.testing.assert_array_equal(stored, np.array([s for s, _, _ in in_memory], dtype=np.float32))


def test_brute_force_reference_finds_planted_pairs(corpus) -> None:
    # The reference itself must be meaningful: most planted translations are mined.
    mined = {(i, j) for _, i, j in brute_force(corpus.src, corpus.tgt, K, "ratio", "max")}
    found = sum((i, j) in mined for i, j in corpus.planted.items())
    assert found / len(corpus.planted) > 0.9


def _normalised(vectors: np.ndarray) -> np.ndarray:
    from interlingua.mining.embed import l2_normalise

    return l2_normalise(vectors)
