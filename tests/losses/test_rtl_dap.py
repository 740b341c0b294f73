import copy
import math

import pytest
import torch

from interlingua.losses.dap import DAPLoss, RankingHead, dap_ranking_term
from interlingua.losses.encoding import EncodedColumn, encode_pair
from interlingua.losses.mlm import IGNORE
from interlingua.losses.rtl import (
    RTLHead,
    RTLLoss,
    pivot_vocabulary,
    rtl_layout,
    starts_with_cls,
    vocabulary_loss,
)
from interlingua.losses.translation_ranking import translation_ranking_loss

from .tiny import TARGETS, encoder_gradient

CLS, PAD, SEP, MASK = 0, 1, 2, 4


def test_rtl_labels_and_attention_mask_by_hand():
    # x rows: [CLS a b] and [CLS c PAD]; y rows: [CLS 7 8 SEP] and [CLS 9 SEP PAD].
    source_mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    target_ids = torch.tensor([[CLS, 7, 8, SEP], [CLS, 9, SEP, PAD]])
    target_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    layout = rtl_layout(
        source_mask,
        target_ids,
        target_mask,
        special_ids=torch.tensor([CLS, PAD, SEP, MASK]),
        mask_id=MASK,
        pad_id=PAD,
        drop_first_source=True,
    )
    assert layout.source_start == 1
    assert layout.labels.tolist() == [[7, 8], [9, IGNORE]]  # every real piece of y, specials dropped
    assert layout.slot_ids.tolist() == [[MASK, MASK], [MASK, PAD]]  # |y| mask slots per row
    # [x states without CLS (2 columns) ; slots (2 columns)]
    assert layout.attention_mask.tolist() == [[1, 1, 1, 1], [1, 0, 1, 0]]


def test_rtl_layout_keeps_the_first_piece_without_cls():
    layout = rtl_layout(
        torch.tensor([[1, 1]]),
        torch.tensor([[7, 8]]),
        torch.tensor([[1, 1]]),
        special_ids=torch.tensor([PAD, MASK]),
        mask_id=MASK,
        pad_id=PAD,
        drop_first_source=False,
    )
    assert layout.source_start == 0 and layout.attention_mask.tolist() == [[1, 1, 1, 1]]


def test_rtl_head_starts_as_a_copy_of_the_last_layers(tiny_model):
    head = RTLHead(tiny_model, layers=1)
    last = tiny_model[0].auto_model.encoder.layer[-1]
    for copied, original in zip(head.layers[0].parameters(), last.parameters(), strict=True):
        assert torch.equal(copied, original) and copied.data_ptr() != original.data_ptr()
    assert not any(key.startswith(("model", "_encoder")) for key in head.state_dict())
    assert not starts_with_cls(tiny_model.tokenizer)  # scratch tokenizers add no [CLS]


def test_rtl_predicts_every_target_piece_and_trains_encoder_and_head(tiny_model, features):
    loss = RTLLoss(tiny_model, layers=2)
    source, target = encode_pair(tiny_model, features())
    layout = loss.rtl.layout(source, target)
    target_lengths = target.attention_mask.sum(1)
    assert ((layout.labels != IGNORE).sum(1) == target_lengths).all()  # no specials in these targets
    value = loss(features())["rtl"]
    # Untrained, every piece is about equally likely: the loss is near log(vocabulary size).
    assert value.item() == pytest.approx(
        torch.log(torch.tensor(float(len(tiny_model.tokenizer)))).item(), rel=0.3
    )
    value.backward()
    assert encoder_gradient(tiny_model) > 0
    assert loss.rtl.layers[0].attention.self.query.weight.grad.abs().sum() > 0
    assert loss.rtl.vocabulary.dense.weight.grad.abs().sum() > 0


def test_rtl_ignores_what_the_mask_hides(tiny_model):
    """Changing the states of padded x positions must not change the loss."""
    head = RTLHead(tiny_model, layers=1).eval()
    ids = torch.tensor([[5, 6, 7], [8, 9, 0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    states = torch.randn(2, 3, 16)
    target = EncodedColumn(torch.tensor([[10, 11], [12, 0]]), torch.tensor([[1, 1], [1, 0]]), None, None)
    before = head(EncodedColumn(ids, mask, states, None), target)
    states[1, 2] += 100.0
    after = head(EncodedColumn(ids, mask, states, None), target)
    assert after.item() == pytest.approx(before.item(), rel=1e-5)
    states[1, 1] += 100.0
    assert head(EncodedColumn(ids, mask, states, None), target).item() != pytest.approx(
        before.item(), rel=1e-5
    )


def test_dap_ranking_is_one_way_on_the_tanh_layer():
    head = RankingHead(2)
    source = EncodedColumn(torch.tensor([[3], [4]]), torch.ones(2, 1), None, torch.randn(2, 2))
    target = EncodedColumn(torch.tensor([[5], [6]]), torch.ones(2, 1), None, torch.randn(2, 2))
    expected = translation_ranking_loss(
        torch.tanh(head.dense(source.sentence_embedding)),
        torch.tanh(head.dense(target.sentence_embedding)),
        scale=20.0,
        margin=0.3,
        bidirectional=False,
    )
    assert dap_ranking_term(head, source, target, scale=20.0, margin=0.3).item() == pytest.approx(
        expected.item()
    )


def test_dap_weights_rtl_and_keeps_heads_out_of_the_encoder(tiny_model, features):
    loss = DAPLoss(tiny_model, rtl_weight=0.1, rtl_layers=1).eval()
    with torch.no_grad():
        losses = loss(features())
        source, target = encode_pair(tiny_model, features())
        rtl_alone = loss.rtl(source, target)
    assert set(losses) == {"translation_ranking", "rtl"}
    assert losses["rtl"].item() == pytest.approx(0.1 * rtl_alone.item(), rel=1e-5)
    heads = {k.split(".")[0] for k in loss.state_dict() if not k.startswith("model.")}
    assert heads == {"ranking_head", "rtl"}
    assert not any(k.startswith(("ranking_head", "rtl")) for k in tiny_model.state_dict())


def test_vocabulary_loss_by_hand():
    hidden = torch.tensor([[1.0, 0.0]])
    table = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    bias = torch.tensor([0.0, 0.0, 0.5, 0.0])
    label = torch.tensor([1])
    # Over V = {1, 2}: logits (1, 0.5), the label's is 1.
    restricted = vocabulary_loss(hidden, label, table, bias, torch.tensor([1, 2]))
    assert restricted.item() == pytest.approx(math.log(math.e + math.exp(0.5)) - 1)
    # Over the whole vocabulary: logits (0, 1, 0.5, 2).
    full = vocabulary_loss(hidden, label, table, bias)
    assert full.item() == pytest.approx(math.log(1 + math.e + math.exp(0.5) + math.exp(2)) - 1)


def test_a_restricted_head_is_the_full_softmax_with_the_other_pieces_ruled_out(tiny_model, features):
    torch.manual_seed(0)
    head = RTLHead(tiny_model, layers=1).eval()
    source, target = encode_pair(tiny_model, features())
    vocabulary = pivot_vocabulary(tiny_model.tokenizer, TARGETS)
    with torch.no_grad():
        head.vocabulary.output_bias.normal_()
        full = copy.deepcopy(head)
        outside = torch.ones(len(tiny_model.tokenizer), dtype=torch.bool)
        outside[vocabulary] = False
        full.vocabulary.output_bias[outside] = -1e9  # probability 0: the softmax runs over V
        head.restrict_vocabulary(vocabulary)
        assert head(source, target).item() == pytest.approx(full(source, target).item(), rel=1e-5)
    assert head.pieces(target) == full.pieces(target)  # every target piece is in V
