import math

import pytest
import torch

from interlingua.losses.ems import EMSLoss
from interlingua.losses.ems_contrastive import EMSContrastiveLoss, ProjectionHead, ems_contrastive_term
from interlingua.losses.encoding import EncodedColumn

from .tiny import LANGUAGES, ROW_LANGUAGES, encoder_gradient


def _column(sentence: torch.Tensor, ids: list[list[int]]) -> EncodedColumn:
    input_ids = torch.tensor(ids)
    return EncodedColumn(input_ids, torch.ones_like(input_ids), torch.zeros(*input_ids.shape, 2), sentence)


def test_contrastive_is_symmetric_ranking_of_projected_cosines_over_tau():
    projection = ProjectionHead(2, 2)
    with torch.no_grad():  # make g the identity: W1 = W2 = I, no bias (inputs are non-negative)
        for linear in (projection.layers[0], projection.layers[2]):
            linear.weight.copy_(torch.eye(2))
            linear.bias.zero_()
    # g(u_x) = (1, 0), (0, 1); g(u_y) = (1, 0), (0.6, 0.8): cos = [[1, 0.6], [0, 0.8]], / 0.1.
    source = _column(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), [[3], [4]])
    target = _column(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), [[5], [6]])
    scores = [[10.0, 6.0], [0.0, 8.0]]

    def ce(rows):
        return -sum(row[i] - math.log(sum(math.exp(v) for v in row)) for i, row in enumerate(rows)) / len(
            rows
        )

    expected = (ce(scores) + ce([list(column) for column in zip(*scores, strict=True)])) / 2
    assert ems_contrastive_term(projection, source, target, scale=10.0).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_projection_is_a_training_only_head(tiny_model, features):
    loss = EMSContrastiveLoss(tiny_model, scale=10.0, projection_dim=8)
    heads = {k for k in loss.state_dict() if not k.startswith("model.")}
    assert heads == {f"projection.layers.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
    assert loss.projection.layers[-1].out_features == 8
    loss(features())["contrastive"].backward()
    assert encoder_gradient(tiny_model) > 0
    assert loss.projection.layers[0].weight.grad.abs().sum() > 0


def test_ems_objective_returns_weighted_components(tiny_model, features):
    loss = EMSLoss(tiny_model, LANGUAGES, contrastive_weight=2.0).eval()
    with torch.no_grad():
        losses = loss(features(), ROW_LANGUAGES)
        alone = EMSContrastiveLoss(tiny_model, scale=10.0)
        alone.projection.load_state_dict(loss.projection.state_dict())
        single = alone(features())["contrastive"]
    assert set(losses) == {"xtr", "contrastive"}
    assert losses["contrastive"].item() == pytest.approx(2 * single.item(), rel=1e-5)
