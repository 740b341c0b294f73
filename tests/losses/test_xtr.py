import math

import pytest
import torch

from interlingua.losses.encoding import encode_pair
from interlingua.losses.xtr import PieceTarget, XTRLoss, XTRPredictor, bag_of_pieces, kl_to_target, xtr_loss

from .tiny import LANGUAGES, ROW_LANGUAGES, encoder_gradient


def test_bag_of_pieces_counts_distinct_pieces_and_skips_padding():
    # Row 0: pieces 5, 6, 5 then padding (id 0): distinct {5, 6} -> 1/2 each.
    # Row 1: pieces 0, 3 (0 is a real piece here, its mask is 1) -> {0, 3}, 1/2 each.
    ids = torch.tensor([[5, 6, 5, 0], [0, 3, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    bag = bag_of_pieces(ids, mask).dense(vocab_size=8)
    expected = torch.zeros(2, 8)
    expected[0, [5, 6]] = 0.5
    expected[1, [0, 3]] = 0.5
    assert torch.equal(bag, expected)


def test_xtr_loss_is_the_sum_of_two_kls():
    # Vocabulary of 3.  p(.|u_x) = (0.5, 0.25, 0.25), t_y = (0, 0.5, 0.5):
    #   KL(t_y || p) = 2 * 0.5 log(0.5 / 0.25) = log 2.
    # p(.|u_y) = (0.25, 0.25, 0.5), t_x = (1, 0, 0): KL(t_x || p) = log(1 / 0.25) = log 4.
    source_log_probs = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    target_log_probs = torch.log(torch.tensor([[0.25, 0.25, 0.5]]))
    source_bag = PieceTarget(torch.tensor([[0]]), torch.tensor([[1.0]]))
    target_bag = PieceTarget(torch.tensor([[1, 2]]), torch.tensor([[0.5, 0.5]]))
    loss = xtr_loss(source_log_probs, target_log_probs, source_bag, target_bag)
    assert loss.item() == pytest.approx(math.log(2) + math.log(4), rel=1e-6)


def test_repeated_entries_add_up_and_the_kl_equals_the_dense_one():
    # Target (0.5, 0.5, 0) given as entries 0: 0.25, 1: 0.5, 0: 0.25 and a zero-weight padding entry;
    # p = (0.25, 0.25, 0.5): KL = 2 * 0.5 log(0.5 / 0.25) = log 2, as for the dense target.
    target = PieceTarget(torch.tensor([[0, 1, 0, 2]]), torch.tensor([[0.25, 0.5, 0.25, 0.0]]))
    assert torch.equal(target.dense(3), torch.tensor([[0.5, 0.5, 0.0]]))
    log_probs = torch.log(torch.tensor([[0.25, 0.25, 0.5]]))
    assert kl_to_target(log_probs, target).item() == pytest.approx(math.log(2), rel=1e-6)
    dense = torch.nn.functional.kl_div(log_probs, target.dense(3), reduction="batchmean")
    assert kl_to_target(log_probs, target).item() == pytest.approx(dense.item(), rel=1e-6)


def test_lightweight_head_is_tied_to_the_input_embeddings(tiny_model):
    predictor = XTRPredictor(tiny_model, head="lightweight")
    assert not any(name.startswith("model") for name in predictor.state_dict())
    sentence = torch.randn(2, 16)
    embeddings = tiny_model[0].auto_model.get_input_embeddings().weight
    head = predictor.head
    hidden = head.norm(torch.nn.functional.silu(head.dense(sentence)))
    expected = torch.log_softmax(hidden @ embeddings.T + head.output_bias, dim=-1)
    assert torch.allclose(predictor.log_probs(sentence), expected, atol=1e-6)
    with torch.no_grad():
        embeddings[5] *= 3.0  # the head sees the encoder's table, not a copy
    assert not torch.allclose(predictor.log_probs(sentence), expected, atol=1e-6)


def test_ems_head_reads_the_other_sides_language(tiny_model):
    predictor = XTRPredictor(tiny_model, head="ems", languages=LANGUAGES).eval()
    source, target = torch.randn(3, 16), torch.randn(3, 16)
    x_given_english, y_given_source = predictor.pair_log_probs(source, target, ROW_LANGUAGES)
    x_again, y_other = predictor.pair_log_probs(source, target, torch.tensor([2, 2, 1]))
    assert torch.equal(x_given_english, x_again)  # u_x is always told lang(y) = the pivot
    assert not torch.allclose(y_given_source, y_other)  # u_y is told lang(x), per row
    assert predictor.head.output.bias is None  # untied, no bias


def test_ems_head_without_labels_uses_the_only_language_or_unknown(tiny_model, caplog):
    single = XTRPredictor(tiny_model, head="ems", languages=["eng", "deu"])
    assert single.source_languages(None, 2, torch.device("cpu")).tolist() == [1, 1]
    mixed = XTRPredictor(tiny_model, head="ems", languages=LANGUAGES)
    assert mixed.source_languages(None, 2, torch.device("cpu")).tolist() == [3, 3]
    assert "no per-row language ids" in caplog.text
    assert mixed.source_languages(ROW_LANGUAGES, 3, torch.device("cpu")).tolist() == [1, 1, 2]


@pytest.mark.parametrize("head", ["lightweight", "ems"])
def test_xtr_module_matches_the_pure_function_and_trains_the_encoder(tiny_model, features, head):
    loss_module = XTRLoss(tiny_model, head=head, languages=LANGUAGES)
    losses = loss_module(features(), ROW_LANGUAGES)
    assert set(losses) == {"xtr"}
    source, target = encode_pair(tiny_model.eval(), features())
    tiny_model.train()
    with torch.no_grad():
        loss_module.eval()
        x_log_probs, y_log_probs = loss_module.predictor.pair_log_probs(
            source.sentence_embedding, target.sentence_embedding, ROW_LANGUAGES
        )
        expected = xtr_loss(
            x_log_probs,
            y_log_probs,
            bag_of_pieces(source.input_ids, source.attention_mask),
            bag_of_pieces(target.input_ids, target.attention_mask),
        )
        assert loss_module(features(), ROW_LANGUAGES)["xtr"].item() == pytest.approx(
            expected.item(), rel=1e-5
        )
    losses["xtr"].backward()
    assert encoder_gradient(tiny_model) > 0
