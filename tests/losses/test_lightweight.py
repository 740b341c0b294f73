import pytest
import torch

from interlingua.losses.align import align_loss
from interlingua.losses.encoding import encode_pair
from interlingua.losses.lightweight import LightweightLoss
from interlingua.losses.sim import sim_loss
from interlingua.losses.ugt import ugt_term

from .tiny import encoder_gradient


def test_components_share_one_masked_forward_and_are_weighted(tiny_model, features):
    loss = LightweightLoss(tiny_model, align_weight=2.0, sim_weight=3.0).eval()
    torch.manual_seed(7)
    losses = loss(features())
    torch.manual_seed(7)  # the same single-piece masks again
    masked, masks = loss.masker(features())
    with torch.no_grad():
        source, target = encode_pair(tiny_model, masked)
        u_x, u_y = source.sentence_embedding, target.sentence_embedding
        assert losses["align"].item() == pytest.approx(2.0 * align_loss(u_x, u_y).item(), rel=1e-5)
        assert losses["sim"].item() == pytest.approx(3.0 * sim_loss(u_x, u_y).item(), rel=1e-5)
        ugt = ugt_term(loss.predictor, source, target, masks, None)
        assert losses["ugt"].item() == pytest.approx(ugt.item(), rel=1e-5)


def test_trains_encoder_and_xtr_head(tiny_model, features):
    loss = LightweightLoss(tiny_model)
    optimizer = torch.optim.Adam(list(tiny_model.parameters()) + list(loss.predictor.parameters()), lr=1e-2)
    before = {k: v.clone() for k, v in loss.predictor.state_dict().items()}
    sum(loss(features()).values()).backward()
    assert encoder_gradient(tiny_model) > 0
    optimizer.step()
    after = loss.predictor.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)
