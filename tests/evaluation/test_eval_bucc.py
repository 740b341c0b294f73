"""BUCC: the F1-optimal threshold with ties, and a hand-worked end-to-end mining case."""

from __future__ import annotations

import pytest
from eval_fakes import TableEncoder, write_xz_lines

from interlingua.evaluation.bucc import evaluate_bucc, load_bucc, optimise_threshold


def test_threshold_golden_case_keeps_tied_candidates_together():
    # 5 gold pairs; candidates by descending score (c = correct, w = wrong):
    #   1.30 c | 1.20 c | 1.10 w, 1.10 c (tied) | 1.00 w | 0.90 w
    # Cuts only where the score drops:
    #   after 1.30: kept 1, correct 1: P 1,    R 0.2, F1 0.3333
    #   after 1.20: kept 2, correct 2: P 1,    R 0.4, F1 0.5714
    #   after 1.10: kept 4, correct 3: P 0.75, R 0.6, F1 0.6667  <- best
    #   after 1.00: kept 5, correct 3: P 0.6,  R 0.6, F1 0.6
    #   after 0.90: kept 6, correct 3: P 0.5,  R 0.6, F1 0.5455
    # Threshold: midpoint of 1.10 and 1.00 = 1.05.  (Splitting the tie after the correct 1.10 would
    # claim kept 3, correct 3, F1 0.75, which no threshold can produce.)
    gold = {("z1", "e1"), ("z2", "e2"), ("z3", "e3"), ("z4", "e4"), ("z5", "e5")}
    candidates = [
        (1.30, "z1", "e1"),
        (1.20, "z2", "e2"),
        (1.10, "z3", "e3"),
        (1.10, "z6", "e6"),
        (1.00, "z7", "e7"),
        (0.90, "z8", "e8"),
    ]
    choice = optimise_threshold(candidates, gold)
    assert choice.kept == 4 and choice.correct == 3
    assert choice.precision == pytest.approx(75.0)
    assert choice.recall == pytest.approx(60.0)
    assert choice.f1 == pytest.approx(200 / 3)
    assert choice.threshold == pytest.approx(1.05)
    assert optimise_threshold(list(reversed(candidates)), gold) == choice


def _tiny_bucc_root(tmp_path):
    folder = tmp_path / "bucc2018_zh-en_sample"
    write_xz_lines(folder / "zh-en.sample.zh.xz", ["z1\ta", "z2\tb", "z3\ta"])
    write_xz_lines(folder / "zh-en.sample.en.xz", ["e1\tA", "e2\tB", "e3\tC"])
    write_xz_lines(folder / "zh-en.sample.gold.xz", ["z1\te1", "z2\te2", "z3\te3"])
    return tmp_path


def test_bucc_end_to_end_golden_numbers(tmp_path):
    # zh: z1 "a", z2 "b", z3 "a" (a duplicate text); en: e1 "A", e2 "B", e3 "C".
    # Vectors: a = A = x, b = B = y, C = z (orthogonal).  Distinct texts: zh [a, b], en [A, B, C].
    #   forward k = min(4, 3) = 3: a(a) = (1 + 0 + 0) / 3 = 1/3, a(b) = 1/3
    #   backward k = min(4, 2) = 2: b(A) = (1 + 0) / 2 = 1/2, b(B) = 1/2, b(C) = 0
    #   ratio(a, A) = 1 / ((1/3 + 1/2) / 2) = 2.4 = ratio(b, B); ratio(., C) = 0
    # forward: a -> A, b -> B, expanded to (z1, e1), (z3, e1), (z2, e2), all 2.4: kept 3, correct 2,
    #   P = R = F1 = 66.67, threshold 2.4 (everything kept).  intersect and max give the same.
    # backward: also C -> a (score 0, ties broken to the more similar, then lower, row), expanded to
    #   (z1, e3), (z3, e3): at 0, kept 5, correct 3: P 60, R 100, F1 75 > 66.67; threshold 0.
    root = _tiny_bucc_root(tmp_path)
    encoder = TableEncoder({"a": [1, 0, 0], "A": [1, 0, 0], "b": [0, 1, 0], "B": [0, 1, 0], "C": [0, 0, 1]})
    result = evaluate_bucc(encoder, root)
    for mode in ("forward", "intersect", "max"):
        choice = result.per_mode[mode]
        assert (choice.kept, choice.correct) == (3, 2), mode
        assert (choice.precision, choice.recall, choice.f1) == pytest.approx((200 / 3, 200 / 3, 200 / 3))
        assert choice.threshold == pytest.approx(2.4)
    backward = result.per_mode["backward"]
    assert (backward.kept, backward.correct) == (5, 3)
    assert (backward.precision, backward.recall, backward.f1) == pytest.approx((60.0, 100.0, 75.0))
    assert backward.threshold == pytest.approx(0.0)
    block = result.to_json()
    assert block["split"] == "sample" and "sample split" in block["protocol"]
    assert "SAMPLE split" in result.to_table()


def test_bucc_gold_naming_an_unknown_id_is_a_data_error(tmp_path):
    from interlingua.errors import DataError

    root = _tiny_bucc_root(tmp_path)
    write_xz_lines(root / "bucc2018_zh-en_sample" / "zh-en.sample.gold.xz", ["z1\te9"])
    with pytest.raises(DataError, match="gold.xz:1"):
        load_bucc(root)
