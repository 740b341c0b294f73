import math

import pytest
import torch

from interlingua.losses.cz_nce import CZNCELoss, multi_negative_loss

from .tiny import encoder_gradient

# Two samples in 2-D, unit vectors: a_0 = (1, 0), a_1 = (0, 1); b_0 = (0.6, 0.8), b_1 = (0, 1).
A = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
B = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
COS = {("a0", "b0"): 0.6, ("a0", "b1"): 0.0, ("a1", "b0"): 0.8, ("a1", "b1"): 1.0, ("a0", "a1"): 0.0}
COS[("b0", "b1")] = 0.8


def _cos(p: str, q: str) -> float:
    return COS.get((p, q), COS.get((q, p)))


def _anchors():
    """(positive cosine, negative cosines) per anchor: negatives are (A minus a_i) U (B minus b_i)."""
    return [
        (_cos("a0", "b0"), [_cos("a0", "a1"), _cos("a0", "b1")]),
        (_cos("a1", "b1"), [_cos("a1", "a0"), _cos("a1", "b0")]),
        (_cos("b0", "a0"), [_cos("b0", "b1"), _cos("b0", "a1")]),
        (_cos("b1", "a1"), [_cos("b1", "b0"), _cos("b1", "a0")]),
    ]


def test_cz_nce_is_log_sum_exp_of_negatives_minus_positive():
    scale = 2.0
    expected = (
        sum(
            math.log(sum(math.exp(scale * (neg - pos)) for neg in negatives)) for pos, negatives in _anchors()
        )
        / 4
    )
    assert multi_negative_loss(A, B, scale=scale).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_keeps_the_positive_in_the_denominator():
    scale = 2.0
    expected = (
        sum(
            -scale * pos + math.log(math.exp(scale * pos) + sum(math.exp(scale * neg) for neg in negatives))
            for pos, negatives in _anchors()
        )
        / 4
    )
    assert multi_negative_loss(A, B, scale=scale, cross_zero=False).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_cz_nce_goes_below_zero_once_positives_dominate():
    aligned = torch.eye(3)
    assert multi_negative_loss(aligned, aligned, scale=1 / 0.07).item() < 0
    assert multi_negative_loss(aligned, aligned, scale=1 / 0.07, cross_zero=False).item() > 0


def test_duplicates_are_not_negatives():
    # Sample 1 repeats sample 0: once marked, anchor 0's only negatives are sample 2's vectors.
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    duplicates = torch.tensor([[True, True, False], [True, True, False], [False, False, True]])
    masked = multi_negative_loss(a, a, scale=1.0, duplicates=duplicates)
    # Anchors 0, 1 (and their b copies): log(2 e^{0 - 1}) ; anchor 2: log(e^{0-1} * 4).
    expected = (4 * math.log(2 * math.exp(-1)) + 2 * math.log(4 * math.exp(-1))) / 6
    assert masked.item() == pytest.approx(expected, rel=1e-6)


def test_module_trains_the_encoder(tiny_model, features):
    losses = CZNCELoss(tiny_model)(features())
    assert set(losses) == {"cz_nce"}
    losses["cz_nce"].backward()
    assert encoder_gradient(tiny_model) > 0
    assert set(CZNCELoss(tiny_model, cross_zero=False)(features())) == {"info_nce"}
