import math

import pytest
import torch

from interlingua.losses.batch import Batch, RowTerm
from interlingua.losses.encoding import encode_pair
from interlingua.losses.gather import LOCAL
from interlingua.losses.mlctl import MLCTLLoss
from interlingua.losses.rtl import RTLLoss
from interlingua.losses.tr_plus import RTLTerm, TokenTerm, TRPlusLoss, UGTTerm, WordTerm, XTRTerm
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.losses.ugt import UGTLoss
from interlingua.losses.xtr import XTRLoss

from .tiny import LANGUAGES, ROW_LANGUAGES, encoder_gradient


class FixedTerm(TokenTerm):
    """A per-example term of known value: 2.0 over 3 items."""

    name = "fixed"

    def row_term(self, batch, encoded):
        return RowTerm(torch.tensor(2.0), 3)


def test_tr_plus_by_hand(tiny_model):
    loss = TRPlusLoss(tiny_model, FixedTerm(), weight=0.3, scale=1.0)
    ids = torch.tensor([[5], [6]])
    batch = Batch([{"input_ids": ids, "attention_mask": torch.ones(2, 1)}] * 2)
    vectors = {
        "source": torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
        "target": torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
    }
    # S = I (cosines, scale 1): each row and column has logits (1, 0) with the positive at 1.
    ranking = loss.batch_terms(batch, vectors, LOCAL)["translation_ranking"]
    assert ranking.item() == pytest.approx(math.log(1 + math.exp(-1)))
    term = loss.row_terms(batch, None)["fixed"]
    assert (term.value.item(), term.items) == (pytest.approx(0.6), 3)  # 0.3 x 2.0, over its 3 items
    assert loss.components == ("translation_ranking", "fixed")


def seeded(loss, features, labels=None, seed=7):
    torch.manual_seed(seed)  # the same UGT masking for the hybrid and the term alone
    return loss(features(), labels)


@pytest.mark.parametrize("name", ["xtr", "ugt", "rtl", "word_contrastive"])
def test_tr_plus_is_translation_ranking_plus_the_weighted_term_alone(tiny_model, features, name):
    model = tiny_model.eval()
    terms = {
        "xtr": lambda: XTRTerm(model, "ems", LANGUAGES, 4),
        "ugt": lambda: UGTTerm(model, "lightweight", LANGUAGES),
        "rtl": lambda: RTLTerm(model, layers=1),
        "word_contrastive": lambda: WordTerm(model),
    }
    term = terms[name]()
    hybrid = TRPlusLoss(model, term, weight=0.3)
    alone = {
        "xtr": lambda: XTRLoss(model, "ems", LANGUAGES, 4),
        "ugt": lambda: UGTLoss(model, "lightweight", LANGUAGES),
        "rtl": lambda: RTLLoss(model, layers=1),
        "word_contrastive": lambda: MLCTLLoss(model, mlm_probability=0.5),
    }[name]()
    for key in ("predictor", "masker", "rtl", "head", "sampler"):  # the same heads, so equal values
        if hasattr(term, key):
            setattr(alone, key, getattr(term, key))
    with torch.no_grad():
        losses = seeded(hybrid, features, ROW_LANGUAGES)
        expected = seeded(alone, features, ROW_LANGUAGES)[name]
        if name == "ugt":  # TR ranks the masked pass: the same one, drawn again with the seed
            torch.manual_seed(7)
            batch = hybrid.prepare(features(), ROW_LANGUAGES)
            source, target = encode_pair(model, batch.features)
        else:
            source, target = encode_pair(model, features())
        ranking = TranslationRankingLoss(model).batch_terms(
            batch if name == "ugt" else Batch(features()),
            {"source": source.sentence_embedding, "target": target.sentence_embedding},
            LOCAL,
        )
    assert list(losses) == ["translation_ranking", name]
    assert losses[name].item() == pytest.approx(0.3 * expected.item(), rel=1e-5)
    assert losses["translation_ranking"].item() == pytest.approx(
        ranking["translation_ranking"].item(), rel=1e-5
    )


def test_tr_plus_trains_the_encoder_through_both_terms(tiny_model, features):
    loss = TRPlusLoss(tiny_model, RTLTerm(tiny_model, layers=1), weight=0.3)
    losses = loss(features())
    losses["rtl"].backward(retain_graph=True)
    assert encoder_gradient(tiny_model) > 0 and loss.term.rtl.vocabulary.dense.weight.grad.abs().sum() > 0
    tiny_model.zero_grad()
    losses["translation_ranking"].backward()
    assert encoder_gradient(tiny_model) > 0
