"""Threshold calibration (LASER's BUCC rule), score formatting, and the on-disk stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interlingua.errors import DataError
from interlingua.mining.calibrate import calibrate
from interlingua.mining.margin import best_by_margin
from interlingua.mining.output import filter_candidates, format_score, pair_keys
from interlingua.mining.store import RangeProgress, TextStore


def test_calibration_golden() -> None:
    # Candidates by score: 0.9 gold, 0.8 gold, 0.7 wrong, 0.6 gold, 0.5 wrong; 4 gold pairs, one of
    # them never mined.  F1 of each prefix = 2 * correct / (extracted + 4):
    #   1: 2/5 = 0.4   2: 4/6 = 0.667   3: 4/7 = 0.571   4: 6/8 = 0.75   5: 6/9 = 0.667
    # Best prefix 4; threshold half-way between 0.6 and 0.5 = 0.55; P = R = F1 = 0.75.
    ids = [("a", "1"), ("b", "2"), ("c", "9"), ("d", "4"), ("e", "8")]
    gold = {("a", "1"), ("b", "2"), ("d", "4"), ("z", "5")}
    result = calibrate(np.array([0.8, 0.9, 0.7, 0.6, 0.5]), [ids[1], ids[0], *ids[2:]], gold)
    assert result.threshold == pytest.approx(0.55)
    assert (result.kept, result.correct, result.candidates, result.gold) == (4, 3, 5, 4)
    assert result.precision == pytest.approx(0.75)
    assert result.recall == pytest.approx(0.75)
    assert result.f1 == pytest.approx(0.75)


def test_calibration_best_at_last_candidate_keeps_it() -> None:
    result = calibrate(np.array([0.9, 0.4]), [("a", "1"), ("b", "2")], {("a", "1"), ("b", "2")})
    assert result.threshold == pytest.approx(0.4) and result.kept == 2 and result.f1 == 1.0


def test_calibration_needs_overlap() -> None:
    with pytest.raises(DataError, match="no candidate is a gold pair"):
        calibrate(np.array([0.9]), [("a", "1")], {("b", "2")})


def test_scores_round_trip_through_text() -> None:
    scores = np.array([1.0769231, 0.9999999, 1.2345678e-3, -0.075], dtype=np.float32)
    for score in scores:
        assert np.float32(float(format_score(score))) == score
    # A score copied from the output as a threshold keeps its pair.
    kept = filter_candidates(scores, np.arange(4, dtype=np.uint64), threshold=float(format_score(scores[1])))
    assert kept.kept.tolist() == [0, 1]


def test_filter_counts() -> None:
    # scores sorted descending; keys 7 repeat: the second 7 is a duplicate.
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5], dtype=np.float32)
    keys = np.array([7, 3, 7, 4, 5], dtype=np.uint64)
    selection = filter_candidates(scores, keys, threshold=0.55, top_n=2)
    assert selection.kept.tolist() == [0, 1]
    assert selection.counts() == {
        "candidates": 5,
        "below_threshold": 1,
        "duplicates": 1,
        "beyond_top_n": 1,
        "written": 2,
    }
    assert filter_candidates(scores, keys, dedup=False).kept.tolist() == [0, 1, 2, 3, 4]


def test_pair_keys_distinguish_swapped_sentences() -> None:
    a, b = np.array([11], dtype=np.uint64), np.array([22], dtype=np.uint64)
    assert pair_keys(a, b)[0] != pair_keys(b, a)[0]


def test_best_by_margin_skips_missing_neighbours() -> None:
    sims = np.array([[0.9, 0.5], [0.7, -np.inf]], dtype=np.float32)
    ids = np.array([[1, 0], [0, -1]])
    best, scores = best_by_margin(sims, ids, np.array([0.7, 0.7]), np.array([0.5, 0.9]), "absolute")
    assert best.tolist() == [1, 0]
    np.testing.assert_allclose(scores, [0.9, 0.7])


def test_range_progress_merges_and_lists_pending(tmp_path: Path) -> None:
    progress = RangeProgress(tmp_path / "p.json", 100)
    progress.mark(0, 30)
    progress.mark(60, 70)
    progress.mark(30, 40)
    assert progress.done == [(0, 40), (60, 70)]
    assert list(progress.pending(15)) == [(40, 55), (55, 60), (70, 85), (85, 100)]
    assert RangeProgress(tmp_path / "p.json", 100).rows_done() == 50  # persisted


def test_text_store_reads_lines_by_number(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("first\n\nthird\ttabbed\nfirst\n", encoding="utf-8")
    store = TextStore.build(source, tmp_path, "t", id_column=False, unify=True)
    assert store.line_count == 4
    assert store.rows().tolist() == [0, 2]  # the repeated "first" is mined once, the blank line not at all
    assert store.read(np.array([2, 0, 1])) == [("3", "third\ttabbed"), ("1", "first"), ("2", "")]
    hashes = store.hashes()
    assert hashes[0] == hashes[3] != hashes[1]
