import math

import pytest
import torch

from interlingua.losses.align import AlignLoss, align_loss
from interlingua.losses.sim import SimLoss, sim_loss

from .tiny import encoder_gradient


def _log_softmax_at(row: list[float], index: int) -> float:
    return row[index] - math.log(sum(math.exp(v) for v in row))


def test_align_on_raw_dot_products_both_directions_summed():
    # U_x = [[1, 0], [0, 2]], U_y = [[2, 0], [1, 1]] -> S = U_x U_y^T = [[2, 1], [0, 2]]
    source = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    target = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    rows = [[2.0, 1.0], [0.0, 2.0]]
    columns = [[2.0, 0.0], [1.0, 2.0]]
    forward = -(_log_softmax_at(rows[0], 0) + _log_softmax_at(rows[1], 1)) / 2
    backward = -(_log_softmax_at(columns[0], 0) + _log_softmax_at(columns[1], 1)) / 2
    assert align_loss(source, target).item() == pytest.approx(forward + backward, rel=1e-6)


def test_sim_by_hand():
    # U_x = [[1, 0], [0, 1]]: U_x U_x^T = I -> P_x rows (e/(e+1), 1/(e+1)) and mirrored.
    # U_y = [[1, 0], [1, 0]]: U_y U_y^T = all ones -> P_y = 0.5 everywhere.
    # |P_x - P_y| = d = e/(e+1) - 0.5 on every entry: L = -4 log cos(pi/2 d).
    source = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    d = math.e / (math.e + 1) - 0.5
    assert sim_loss(source, target).item() == pytest.approx(
        -4 * math.log(math.cos(math.pi / 2 * d)), rel=1e-5
    )
    assert sim_loss(source, source).item() == pytest.approx(0.0, abs=1e-7)


def test_sim_stays_finite_when_the_softmax_saturates():
    # P_x = identity (saturated); y_0 = (1, 0), y_1 = (100, 0) give P_y rows (0, 1) and (0, 1) in
    # float32, so row 0 differs by exactly 1 where float32 cos(pi/2) is negative.
    source = torch.tensor([[100.0, 0.0], [0.0, 100.0]])
    target = torch.tensor([[1.0, 0.0], [100.0, 0.0]])
    loss = sim_loss(source, target)
    assert torch.isfinite(loss) and loss.item() > 50


@pytest.mark.parametrize("loss_class, name", [(AlignLoss, "align"), (SimLoss, "sim")])
def test_modules_train_the_encoder(tiny_model, features, loss_class, name):
    losses = loss_class(tiny_model)(features())
    assert set(losses) == {name}
    losses[name].backward()
    assert encoder_gradient(tiny_model) > 0
