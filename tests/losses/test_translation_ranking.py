import math

import pytest
import torch

from interlingua.losses.translation_ranking import (
    TranslationRankingLoss,
    same_rows,
    same_sentences,
    translation_ranking_loss,
)


def _log_softmax_at(row: list[float], index: int) -> float:
    return row[index] - math.log(sum(math.exp(v) for v in row))


def test_matches_hand_computed_value():
    # Unit vectors: u0 = (1, 0), u1 = (0, 1); v0 = (1, 0), v1 = (0.6, 0.8).
    # cos matrix S = [[1, 0.6], [0, 0.8]]; scale 2 -> [[2, 1.2], [0, 1.6]].
    source = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    rows = [[2.0, 1.2], [0.0, 1.6]]
    cols = [[2.0, 0.0], [1.2, 1.6]]  # S^T
    forward = -(_log_softmax_at(rows[0], 0) + _log_softmax_at(rows[1], 1)) / 2
    backward = -(_log_softmax_at(cols[0], 0) + _log_softmax_at(cols[1], 1)) / 2
    assert forward == pytest.approx(0.2775, abs=1e-4)  # (log(1 + e^-0.8) + log(1 + e^-1.6)) / 2
    loss = translation_ranking_loss(source, target, scale=2.0)
    assert loss.item() == pytest.approx((forward + backward) / 2, rel=1e-6)
    one_way = translation_ranking_loss(source, target, scale=2.0, bidirectional=False)
    assert one_way.item() == pytest.approx(forward, rel=1e-6)


def test_additive_margin_lowers_only_the_positive():
    source = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # margin 0.5 at scale 2: diagonal 2 -> 1, 1.6 -> 0.6
    rows = [[1.0, 1.2], [0.0, 0.6]]
    expected = -(_log_softmax_at(rows[0], 0) + _log_softmax_at(rows[1], 1)) / 2
    loss = translation_ranking_loss(source, target, scale=2.0, margin=0.5, bidirectional=False)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_duplicates_are_not_negatives():
    # Pairs 0 and 1 share the same target sentence: with masking, each row only competes with
    # pair 2, so the loss equals that of the masked score matrix computed by hand.
    source = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    duplicates = torch.tensor([[True, True, False], [True, True, False], [False, False, True]])
    masked = translation_ranking_loss(source, target, scale=1.0, bidirectional=False, duplicates=duplicates)
    rows = [[1.0, 0.0], [0.8, 0.6], [0.0, 0.0, 1.0]]  # row 2 keeps all three columns
    expected = -(_log_softmax_at(rows[0], 0) + _log_softmax_at(rows[1], 0) + _log_softmax_at(rows[2], 2)) / 3
    assert masked.item() == pytest.approx(expected, rel=1e-6)
    unmasked = translation_ranking_loss(source, target, scale=1.0, bidirectional=False)
    assert unmasked.item() > masked.item()


def test_same_rows_ignores_padding_but_not_content():
    ids = torch.tensor([[5, 6, 0], [5, 6, 9], [5, 6, 0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 1, 0]])
    expected = torch.tensor([[True, False, True], [False, True, False], [True, False, True]])
    assert torch.equal(same_rows(ids, mask), expected)


def test_gradients_reach_both_sides():
    source = torch.randn(4, 8, requires_grad=True)
    target = torch.randn(4, 8, requires_grad=True)
    translation_ranking_loss(source, target).backward()
    assert source.grad.abs().sum() > 0 and target.grad.abs().sum() > 0


def test_hard_negatives_join_the_candidates_of_the_forward_direction():
    # u0 = (1, 0), u1 = (0, 1); targets v0 = (1, 0), v1 = (0, 1); hard negatives h0 = (0.6, 0.8), h1 = (1, 0).
    source = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    hard = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
    rows = [[1.0, 0.0, 0.6, 1.0], [0.0, 1.0, 0.8, 0.0]]  # x -> [v ; h]
    forward = -(_log_softmax_at(rows[0], 0) + _log_softmax_at(rows[1], 1)) / 2
    backward = -(_log_softmax_at([1.0, 0.0], 0) + _log_softmax_at([0.0, 1.0], 1)) / 2  # y -> x only
    loss = translation_ranking_loss(source, target, scale=1.0, hard_negatives=hard)
    assert loss.item() == pytest.approx((forward + backward) / 2, rel=1e-6)
    # h1 repeats pair 0's translation: it is not pair 0's negative.
    repeats = torch.tensor([[False, True], [False, False]])
    masked = translation_ranking_loss(
        source, target, scale=1.0, bidirectional=False, hard_negatives=hard, hard_duplicates=repeats
    )
    expected = -(_log_softmax_at([1.0, 0.0, 0.6], 0) + _log_softmax_at(rows[1], 1)) / 2
    assert masked.item() == pytest.approx(expected, rel=1e-6)


def test_same_sentences_compares_rows_of_any_widths_exactly():
    rows = torch.tensor([[5, 6, -1], [7, -1, -1]])
    candidates = torch.tensor([[5, 6], [7, 8], [7, -1], [6, 5]])
    assert same_sentences(rows, candidates).tolist() == [
        [True, False, False, False],
        [False, False, True, False],
    ]


def test_module_masks_hard_negatives_that_repeat_the_translation(tiny_model):
    # Each pair's hard negative is the other pair's translation: as a candidate of that other pair,
    # it repeats the query's own translation and must not count as its negative.
    texts = (["hallo welt", "die katze"], ["hello world", "the cat"], ["the cat", "hello world"])
    features = [dict(tiny_model.preprocess(column)) for column in texts]
    loss = TranslationRankingLoss(tiny_model.eval())
    assert loss.negatives_per_query(2, hard_negative_columns=1) == 3
    with torch.no_grad():
        masked = loss(features)["translation_ranking"]
        loss.mask_duplicates = False
        unmasked = loss(features)["translation_ranking"]
    assert masked.item() < unmasked.item()
