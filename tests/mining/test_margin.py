"""Golden numbers for the margin scorer, the k-NN search and LASER's candidate modes.

The example: sources are the basis vectors e0 and e1 of R^3, so cos(x_i, y_j) is coordinate i of
y_j, and the targets are chosen to give this cosine matrix (rows: sources, columns: targets):

            y0    y1    y2
    x0     0.6   0.7   0.1
    x1     0.5   0.6   0.3

y1 is a "hub": close to both sources.  With k = 2:
    a(x0) = mean(0.7, 0.6) = 0.65      a(x1) = mean(0.6, 0.5) = 0.55
    b(y0) = mean(0.6, 0.5) = 0.55      b(y1) = mean(0.7, 0.6) = 0.65      b(y2) = mean(0.3, 0.1) = 0.2
Ratio margin, cos / ((a + b) / 2), of each pair among the 2 nearest neighbours:
    x0: y1 0.7 / 0.65 = 1.076923    y0 0.6 / 0.60 = 1.0          -> best y1, 1.076923
    x1: y1 0.6 / 0.60 = 1.0         y0 0.5 / 0.55 = 0.909091     -> best y1, 1.0
    y0: x0 0.6 / 0.60 = 1.0         x1 0.5 / 0.55 = 0.909091     -> best x0, 1.0
    y1: x0 0.7 / 0.65 = 1.076923    x1 0.6 / 0.60 = 1.0          -> best x0, 1.076923
    y2: x1 0.3 / 0.375 = 0.8        x0 0.1 / 0.425 = 0.235294    -> best x1, 0.8
"""

from __future__ import annotations

import numpy as np
import pytest

from interlingua.errors import ConfigError
from interlingua.mining.margin import (
    MARGINS,
    MODES,
    knn_search,
    margin_score,
    mine_in_memory,
    neighbourhood_mean,
    select_candidates,
)

COSINES = np.array([[0.6, 0.7, 0.1], [0.5, 0.6, 0.3]])


def example() -> tuple[np.ndarray, np.ndarray]:
    src = np.eye(2, 3, dtype=np.float32)
    padding = np.sqrt(1 - (COSINES**2).sum(axis=0))
    tgt = np.column_stack([COSINES[0], COSINES[1], padding]).astype(np.float32)
    return src, tgt


def test_margin_functions_golden() -> None:
    # cos 0.8, a 0.6, b 0.4: ratio 0.8 / 0.5 = 1.6, distance 0.8 - 0.5 = 0.3, absolute 0.8.
    assert margin_score(np.float32(0.8), 0.6, 0.4, "ratio") == pytest.approx(1.6, rel=1e-6)
    assert margin_score(np.float32(0.8), 0.6, 0.4, "distance") == pytest.approx(0.3, rel=1e-5)
    assert margin_score(np.float32(0.8), 0.6, 0.4, "absolute") == pytest.approx(0.8, rel=1e-6)
    assert MARGINS == ("ratio", "distance", "absolute")
    assert MODES == ("forward", "backward", "max", "intersect")


def test_margin_broadcasts_row_and_column_means() -> None:
    cos = np.array([[0.6, 0.7], [0.5, 0.6]], dtype=np.float32)
    scores = margin_score(cos, np.array([[0.65], [0.55]]), np.array([0.55, 0.65]), "ratio")
    # [0.6 / 0.6, 0.7 / 0.65; 0.5 / 0.55, 0.6 / 0.6]
    np.testing.assert_allclose(scores, [[1.0, 1.076923], [0.909091, 1.0]], rtol=1e-5)
    assert scores.dtype == np.float32


def test_knn_search_golden() -> None:
    src, tgt = example()
    sims, ids = knn_search(src, tgt, 2)
    np.testing.assert_array_equal(ids, [[1, 0], [1, 0]])
    np.testing.assert_allclose(sims, [[0.7, 0.6], [0.6, 0.5]], rtol=1e-6)
    back_sims, back_ids = knn_search(tgt, src, 2)
    np.testing.assert_array_equal(back_ids, [[0, 1], [0, 1], [1, 0]])
    np.testing.assert_allclose(neighbourhood_mean(sims), [0.65, 0.55], rtol=1e-6)
    np.testing.assert_allclose(neighbourhood_mean(back_sims), [0.55, 0.65, 0.2], rtol=1e-6)


def test_knn_search_k_above_key_count_is_reduced() -> None:
    src, tgt = example()
    sims, ids = knn_search(tgt, src, 10)
    assert ids.shape == (3, 2)


def test_knn_search_does_not_depend_on_block_size() -> None:
    rng = np.random.default_rng(1)
    queries = rng.standard_normal((300, 24)).astype(np.float32)
    keys = rng.standard_normal((250, 24)).astype(np.float32)
    whole = knn_search(queries, keys, 5)
    blocked = knn_search(queries, keys, 5, block_size=7)
    np.testing.assert_array_equal(whole[1], blocked[1])
    np.testing.assert_array_equal(whole[0], blocked[0])  # bit for bit: re-scored in float64


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # one per source: x0 -> y1 (1.076923), x1 -> y1 (1.0)
        ("forward", [(1.076923, 0, 1), (1.0, 1, 1)]),
        # one per target, sorted by score: y1 -> x0, y0 -> x0, y2 -> x1
        ("backward", [(1.076923, 0, 1), (1.0, 0, 0), (0.8, 1, 2)]),
        # mutual best: x0 <-> y1 only (x1's best y1 prefers x0)
        ("intersect", [(1.076923, 0, 1)]),
        # pooled, best first, each side used once: (x0,y1) taken, (x1,y1) and (x0,y0) blocked,
        # (x1,y2) from the backward direction kept
        ("max", [(1.076923, 0, 1), (0.8, 1, 2)]),
    ],
)
def test_modes_golden(mode: str, expected: list[tuple[float, int, int]]) -> None:
    src, tgt = example()
    mined = mine_in_memory(src, tgt, k=2, margin="ratio", mode=mode)
    assert [(s, t) for _, s, t in mined] == [(s, t) for _, s, t in expected]
    np.testing.assert_allclose(
        [score for score, _, _ in mined], [score for score, _, _ in expected], rtol=1e-5
    )


def test_distance_and_absolute_margins_golden() -> None:
    src, tgt = example()
    # distance: x0 -> y1: 0.7 - 0.65 = 0.05; y2 -> x1: 0.3 - 0.375 = -0.075; (x1, y1) and (x0, y0)
    # score 0 but are blocked in max mode.
    mined = mine_in_memory(src, tgt, k=2, margin="distance", mode="max")
    assert [(s, t) for _, s, t in mined] == [(0, 1), (1, 2)]
    np.testing.assert_allclose([m[0] for m in mined], [0.05, -0.075], atol=1e-6)
    # absolute: the cosine itself; backward y1 -> x0 0.7, y0 -> x0 0.6, y2 -> x1 0.3.
    mined = mine_in_memory(src, tgt, k=2, margin="absolute", mode="backward")
    assert [(s, t) for _, s, t in mined] == [(0, 1), (0, 0), (1, 2)]
    np.testing.assert_allclose([m[0] for m in mined], [0.7, 0.6, 0.3], rtol=1e-6)


def test_max_mode_prefers_forward_candidate_on_equal_scores() -> None:
    # Source 0's best is target 0 and target 1's best is source 1, all at 2.0; source 1's best is
    # target 1 at 1.0.  Pooled: (0,0) f 2.0, (1,1) b 2.0, (1,1) f 1.0, ... -> both kept once.
    scores, src, tgt = select_candidates(
        np.array([0, 1]), np.array([2.0, 1.0]), np.array([0, 1]), np.array([2.0, 2.0]), "max"
    )
    assert list(zip(src.tolist(), tgt.tolist(), strict=True)) == [(0, 0), (1, 1)]
    np.testing.assert_allclose(scores, [2.0, 2.0])


def test_missing_neighbours_are_ignored() -> None:
    # A missing neighbour (id -1, similarity -inf) is left out of the mean and never chosen.
    sims = np.array([[0.8, 0.4, -np.inf]], dtype=np.float32)
    np.testing.assert_allclose(neighbourhood_mean(sims), [0.6], rtol=1e-6)


def test_unknown_margin_and_mode_are_config_errors() -> None:
    src, tgt = example()
    with pytest.raises(ConfigError, match="unknown margin 'cosine'"):
        mine_in_memory(src, tgt, margin="cosine")
    with pytest.raises(ConfigError, match="unknown mode 'fwd'"):
        mine_in_memory(src, tgt, mode="fwd")


def test_empty_side_gives_no_candidates() -> None:
    src, _ = example()
    assert mine_in_memory(src, np.zeros((0, 3), dtype=np.float32)) == []
