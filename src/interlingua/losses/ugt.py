"""UGT: the Lightweight model's unified loss, single-piece masked LM merged into XTR.

Per pair, one side chosen at random has exactly one non-punctuation piece w replaced by
``<mask>``; the pair is encoded with that corruption.  Targets (t_s = bag of pieces of sentence s,
as in XTR, computed on the corrupted sentences)::

    masked side    : 0.5 * onehot(w) + 0.5 * t_other
    other side     : t_masked           (the bag of the corrupted sentence, so it holds <mask>)
    L_UGT          = KL(target_x || p(. | u_x)) + KL(target_y || p(. | u_y))

The masked piece is predicted from the sentence embedding u, not from its position.  A side with
no maskable piece (only punctuation or special symbols) leaves its pair unmasked, so the pair
falls back to plain XTR targets.  ``mask_weight`` is the 0.5 share of the one-hot.  The head is
XTR's (``lightweight`` by default, as in the paper; ``ems`` for EMS's XTR-vs-UGT ablation).

Reference: Mao et al., "Lightweight Cross-Lingual Sentence Representation Learning", ACL 2021,
arXiv 2105.13856 (section 3, "unified generative task").

Inputs: two text columns (source, English); optional per-row source-language index as label
(EMS head only).
Returns: ``{"ugt": loss}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.errors import ConfigError
from interlingua.losses.batch import Batch, RowTerm
from interlingua.losses.encoding import EncodedColumn
from interlingua.losses.engine import SplitLoss
from interlingua.losses.xtr import PieceTarget, XTRPredictor, bag_of_pieces, kl_to_target, where_rows

SOURCE, TARGET, UNMASKED = 0, 1, -1


@dataclass
class SinglePieceMasks:
    """Which side of each pair was masked (SOURCE, TARGET or UNMASKED) and the piece it lost."""

    side: Tensor  # (B,) long
    piece: Tensor  # (B,) long; meaningless where side is UNMASKED


def maskable_pieces(tokenizer) -> Tensor:
    """(V,) bool: pieces UGT may mask, i.e. not special and holding a letter or digit."""
    special = set(tokenizer.all_special_ids)
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return torch.tensor(
        [i not in special and any(ch.isalnum() for ch in token) for i, token in enumerate(tokens)]
    )


def choose_single_pieces(
    source_ids: Tensor,
    source_mask: Tensor,
    target_ids: Tensor,
    target_mask: Tensor,
    maskable: Tensor,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Random (side, position) per pair; side is UNMASKED where the chosen side has no candidate."""
    rows = len(source_ids)
    side = torch.randint(0, 2, (rows,), generator=generator, device=source_ids.device)
    width = max(source_ids.shape[1], target_ids.shape[1])
    candidates = torch.zeros(rows, width, dtype=torch.bool, device=source_ids.device)
    for value, ids, mask in ((SOURCE, source_ids, source_mask), (TARGET, target_ids, target_mask)):
        allowed = maskable.to(ids.device)[ids] & mask.bool()
        candidates[side == value, : ids.shape[1]] = allowed[side == value]
    has_candidate = candidates.any(dim=1)
    # Rows without a candidate draw from a dummy uniform row; their side becomes UNMASKED below.
    weights = torch.where(has_candidate[:, None], candidates.float(), torch.ones_like(candidates.float()))
    position = torch.multinomial(weights, 1, generator=generator).squeeze(1)
    return torch.where(has_candidate, side, torch.full_like(side, UNMASKED)), position


def apply_single_pieces(
    source_ids: Tensor, target_ids: Tensor, side: Tensor, position: Tensor, mask_id: int
) -> tuple[Tensor, Tensor, SinglePieceMasks]:
    """Replace the chosen piece of each pair by ``mask_id``; returns the new ids and what was masked."""
    rows = torch.arange(len(side), device=side.device)
    source_ids, target_ids = source_ids.clone(), target_ids.clone()
    piece = torch.zeros_like(side)
    for value, ids in ((SOURCE, source_ids), (TARGET, target_ids)):
        chosen = side == value
        piece[chosen] = ids[rows[chosen], position[chosen]]
        ids[rows[chosen], position[chosen]] = mask_id
    return source_ids, target_ids, SinglePieceMasks(side=side, piece=piece)


def ugt_targets(
    source_bag: PieceTarget, target_bag: PieceTarget, masks: SinglePieceMasks, mask_weight: float = 0.5
) -> tuple[PieceTarget, PieceTarget]:
    """(target for u_x, target for u_y) from the bags of the corrupted sentences."""
    ones = torch.ones(len(masks.piece), 1, dtype=source_bag.weights.dtype, device=masks.piece.device)
    onehot = PieceTarget(masks.piece.clamp_min(0)[:, None], ones)
    mixed_for_source = onehot.mixed(mask_weight, target_bag, 1 - mask_weight)
    mixed_for_target = onehot.mixed(mask_weight, source_bag, 1 - mask_weight)
    for_source = where_rows(masks.side == SOURCE, mixed_for_source, target_bag)
    for_target = where_rows(masks.side == TARGET, mixed_for_target, source_bag)
    return for_source, for_target


class SinglePieceMasker(nn.Module):
    """Masks one piece on one random side of each pair (holds the maskable-piece table)."""

    def __init__(self, tokenizer) -> None:
        super().__init__()
        if tokenizer.mask_token_id is None:
            raise ConfigError("UGT needs a tokenizer with a mask symbol")
        self.mask_id = tokenizer.mask_token_id
        # Not persistent: it is derived from the tokenizer, not learnt, so checkpoints leave it out.
        self.register_buffer("maskable", maskable_pieces(tokenizer), persistent=False)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]]) -> tuple[list[dict], SinglePieceMasks]:
        """The two columns with one piece masked per pair, and the record of what was masked."""
        source, target = (dict(column) for column in sentence_features)
        side, position = choose_single_pieces(
            source["input_ids"],
            source["attention_mask"],
            target["input_ids"],
            target["attention_mask"],
            self.maskable,
        )
        source["input_ids"], target["input_ids"], masks = apply_single_pieces(
            source["input_ids"], target["input_ids"], side, position, self.mask_id
        )
        return [source, target], masks


def ugt_term(
    predictor: XTRPredictor,
    source: EncodedColumn,
    target: EncodedColumn,
    masks: SinglePieceMasks,
    labels: Tensor | None,
    mask_weight: float = 0.5,
) -> Tensor:
    """L_UGT for one batch encoded after :class:`SinglePieceMasker` corrupted it."""
    for_source, for_target = ugt_targets(
        bag_of_pieces(source.input_ids, source.attention_mask),
        bag_of_pieces(target.input_ids, target.attention_mask),
        masks,
        mask_weight,
    )
    source_log_probs, target_log_probs = predictor.pair_log_probs(
        source.sentence_embedding, target.sentence_embedding, labels
    )
    return kl_to_target(source_log_probs, for_source) + kl_to_target(target_log_probs, for_target)


def masked_batch(masker: SinglePieceMasker, features: list[dict], labels: Tensor | None) -> Batch:
    """The batch with one piece masked per pair, drawn once for the whole batch; the record of what
    was masked travels with the rows (``masked_side``, ``masked_piece``)."""
    features, masks = masker(features)
    return Batch(features, labels, {"masked_side": masks.side, "masked_piece": masks.piece})


def batch_masks(batch: Batch) -> SinglePieceMasks:
    """What :func:`masked_batch` masked, for these rows."""
    return SinglePieceMasks(side=batch.rows["masked_side"], piece=batch.rows["masked_piece"])


class UGTLoss(SplitLoss):
    """sentence-transformers loss module for UGT (masks the batch itself, then encodes it once)."""

    components = ("ugt",)

    def __init__(
        self,
        model: SentenceTransformer,
        head: str = "lightweight",
        languages: Sequence[str] = ("eng",),
        language_dim: int = 128,
        mask_weight: float = 0.5,
    ) -> None:
        super().__init__()
        self.model = model
        self.predictor = XTRPredictor(model, head, languages, language_dim)
        self.masker = SinglePieceMasker(model.tokenizer)
        self.mask_weight = mask_weight

    def prepare(self, features: list[dict], labels: Tensor | None) -> Batch:
        return masked_batch(self.masker, features, labels)

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        source, target = encoded
        loss = ugt_term(self.predictor, source, target, batch_masks(batch), batch.labels, self.mask_weight)
        return {"ugt": RowTerm(loss, len(batch))}

    def get_config_dict(self) -> dict[str, str | float]:
        return {"head": self.predictor.kind, "mask_weight": self.mask_weight}
