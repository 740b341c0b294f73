import pytest
import torch

from interlingua.losses.ugt import (
    SOURCE,
    TARGET,
    UNMASKED,
    SinglePieceMasker,
    UGTLoss,
    apply_single_pieces,
    choose_single_pieces,
    maskable_pieces,
    ugt_targets,
)
from interlingua.losses.xtr import PieceTarget, bag_of_pieces, kl_to_target

from .tiny import encoder_gradient

MASK = 2


def test_ugt_labels_by_hand():
    # Pair 0: source [7, 8, 9], target [4, 5] (+ padding); source piece 8 (position 1) masked.
    # Pair 1: source [6, 6], target [4, 3, 5]; target piece 3 (position 1) masked.
    source = torch.tensor([[7, 8, 9], [6, 6, 0]])
    source_mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    target = torch.tensor([[4, 5, 0], [4, 3, 5]])
    target_mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    side, position = torch.tensor([SOURCE, TARGET]), torch.tensor([1, 1])
    masked_source, masked_target, masks = apply_single_pieces(source, target, side, position, MASK)
    assert masked_source.tolist() == [[7, MASK, 9], [6, 6, 0]]
    assert masked_target.tolist() == [[4, 5, 0], [4, MASK, 5]]
    assert masks.piece[0].item() == 8 and masks.piece[1].item() == 3
    for_source, for_target = ugt_targets(
        bag_of_pieces(masked_source, source_mask), bag_of_pieces(masked_target, target_mask), masks
    )
    for_source, for_target = for_source.dense(10), for_target.dense(10)
    expected_source = torch.zeros(2, 10)
    expected_source[0, 8] = 0.5  # 0.5 onehot(masked piece)
    expected_source[0, [4, 5]] = 0.25  # + 0.5 bag of the other side (2 distinct pieces)
    expected_source[1, [4, MASK, 5]] = 1 / 3  # pair 1's source was not masked: the masked target's bag
    expected_target = torch.zeros(2, 10)
    expected_target[0, [7, MASK, 9]] = 1 / 3  # the bag of the masked source, <mask> included
    expected_target[1, 3] = 0.5
    expected_target[1, 6] = 0.5  # 0.5 * bag of [6, 6] = 0.5 on piece 6
    assert torch.allclose(for_source, expected_source)
    assert torch.allclose(for_target, expected_target)
    assert torch.allclose(for_source.sum(1), torch.ones(2)) and torch.allclose(
        for_target.sum(1), torch.ones(2)
    )


def test_unmasked_pairs_keep_plain_xtr_targets():
    source_bag = PieceTarget(torch.tensor([[0], [1]]), torch.ones(2, 1))  # one-hot on 0, on 1
    target_bag = PieceTarget(torch.tensor([[1], [2]]), torch.ones(2, 1))
    masks = apply_single_pieces(
        torch.zeros(2, 1, dtype=torch.long),
        torch.zeros(2, 1, dtype=torch.long),
        torch.tensor([UNMASKED, UNMASKED]),
        torch.tensor([0, 0]),
        MASK,
    )[2]
    for_source, for_target = ugt_targets(source_bag, target_bag, masks)
    assert torch.equal(for_source.dense(3), target_bag.dense(3))
    assert torch.equal(for_target.dense(3), source_bag.dense(3))


def test_only_real_word_pieces_are_chosen():
    maskable = torch.tensor([False, False, False, True, True, False])  # 5 is punctuation
    source = torch.tensor([[3, 5, 0], [5, 5, 0]])
    source_mask = torch.tensor([[1, 1, 0], [1, 1, 0]])
    target = torch.tensor([[4, 0], [5, 0]])
    target_mask = torch.tensor([[1, 0], [1, 0]])
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        side, position = choose_single_pieces(source, source_mask, target, target_mask, maskable, generator)
        chosen = [source, target]
        for row in range(2):
            if side[row] == UNMASKED:
                assert row == 1  # pair 1 has no maskable piece on either side
            else:
                assert maskable[chosen[side[row]][row, position[row]]]
        assert side[1] == UNMASKED


def test_maskable_pieces_exclude_punctuation_and_symbols(tiny_tokenizer):
    maskable = maskable_pieces(tiny_tokenizer)
    vocab = tiny_tokenizer.get_vocab()
    assert not maskable[vocab[","]] and not maskable[vocab["<mask>"]] and not maskable[vocab["<2deu>"]]
    assert maskable[vocab["▁hello"]]


def test_masker_masks_exactly_one_piece_per_pair(tiny_model, features):
    masker = SinglePieceMasker(tiny_model.tokenizer)
    (source, target), masks = masker(features())
    original_source, original_target = features()
    changed = (source["input_ids"] != original_source["input_ids"]).sum(1) + (
        target["input_ids"] != original_target["input_ids"]
    ).sum(1)
    assert changed.tolist() == [1, 1, 1]
    assert ((source["input_ids"] == MASK).sum(1) + (target["input_ids"] == MASK).sum(1)).tolist() == [1, 1, 1]


@pytest.mark.parametrize("head", ["lightweight", "ems"])
def test_ugt_trains_the_encoder(tiny_model, features, head):
    losses = UGTLoss(tiny_model, head=head, languages=["eng", "deu", "fra"])(features())
    assert set(losses) == {"ugt"} and losses["ugt"].item() > 0
    losses["ugt"].backward()
    assert encoder_gradient(tiny_model) > 0


def test_ugt_kl_equals_the_kl_to_the_dense_targets():
    # Random pairs over a vocabulary of 12, where masked pieces often also occur on the other side.
    generator = torch.Generator().manual_seed(3)
    source = torch.randint(3, 12, (16, 7), generator=generator)
    target = torch.randint(3, 12, (16, 5), generator=generator)
    source_mask = (torch.rand(16, 7, generator=generator) > 0.3).long()
    target_mask = (torch.rand(16, 5, generator=generator) > 0.3).long()
    source_mask[:, 0] = target_mask[:, 0] = 1
    side, position = choose_single_pieces(
        source, source_mask, target, target_mask, torch.ones(12, dtype=torch.bool), generator
    )
    masked_source, masked_target, masks = apply_single_pieces(source, target, side, position, MASK)
    targets = ugt_targets(
        bag_of_pieces(masked_source, source_mask), bag_of_pieces(masked_target, target_mask), masks
    )
    log_probs = torch.log_softmax(torch.randn(16, 12, generator=generator), dim=-1)
    for sparse in targets:
        dense = torch.nn.functional.kl_div(log_probs, sparse.dense(12), reduction="batchmean")
        assert kl_to_target(log_probs, sparse).item() == pytest.approx(dense.item(), rel=1e-5)
