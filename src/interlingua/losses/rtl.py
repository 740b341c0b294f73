"""RTL: DAP's representation translation learning.

The non-English side's contextual token states must reconstruct the English sentence.  A small
head g reads, for each pair::

    input  = [ last-layer states of x, without [CLS] ;  |y| <mask> embeddings with positions 0..|y|-1 ]
    output = g(input) at the |y| mask slots -> MLM vocabulary head -> every piece of y
    L_RTL  = mean over all pieces y_k of the batch of  -log p(y_k | slot k)

g is K = 2 transformer layers initialised as copies of the encoder's last K layers (then trained
separately: they are training-only), followed by BERT's MLM vocabulary head with its output layer
tied to the input embeddings (see :mod:`interlingua.losses.mlm`).  The mask slots are embedded by
the encoder's own embedding layer (word + position embeddings, LayerNorm), so position k is the
same position embedding the encoder gives the k-th piece.  Always non-English -> English; the
whole sentence is reconstructed (the paper found partial reconstruction clearly worse).

"Every token of y" is taken to mean y's real pieces: padding and special symbols ([CLS]/<s>,
[SEP]/</s>) are neither targets nor slots, so |y| counts the pieces of the sentence itself (the
DAP code also predicts [SEP]).  Encoders trained from scratch add no [CLS], so nothing is dropped
from x there.

Vocabulary: the DAP training scripts shrink the head's softmax to the English pieces seen in the
training data (``data/gen_en_vocab.py`` writes them, ``--en_token_ids_file`` reads them), not the
250k pieces of XLM-R.  That is followed by default (``rtl_vocabulary: english``; ``full`` restores
the whole vocabulary): :func:`restrict_rtl_vocabulary` gives every RTL head the sorted distinct
pivot-side pieces V of the training pairs (special symbols left out), and::

    p(y_k | slot k) = softmax over v in V of ( E_v . h_k + b_v )

A piece of y outside V (possible only when V was read from a sample, as a streaming run's) is no
target.  Where this head differs from the code: the DAP decoder is a separate copy of the encoder
with its own embeddings and MLM head, fed through ``inputs_embeds``; here the mask slots are
embedded, and the output layer tied, through the encoder's own embedding table.

Reference: Li et al., "Dual-Alignment Pre-training for Cross-lingual Sentence Embedding",
ACL 2023, arXiv 2305.09148 (section 3.2).

Inputs: two text columns (non-English, English); no label.
Returns: ``{"rtl": loss}``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn
from transformers.masking_utils import create_bidirectional_mask

from interlingua.errors import ConfigError
from interlingua.losses.batch import Batch, RowTerm
from interlingua.losses.encoding import EncodedColumn, auto_model
from interlingua.losses.engine import SplitLoss
from interlingua.losses.mlm import IGNORE, MLMHead


@dataclass
class RTLLayout:
    """Where everything goes in the head's input sequence [x states ; mask slots]."""

    source_start: int  # 1 when x starts with [CLS] (dropped), else 0
    slot_ids: Tensor  # (B, S): <mask> on the |y| slots of each row, padding after
    labels: Tensor  # (B, S): the pieces of y, left-aligned, IGNORE after
    attention_mask: Tensor  # (B, Lx - source_start + S)


def rtl_layout(
    source_mask: Tensor,
    target_ids: Tensor,
    target_mask: Tensor,
    *,
    special_ids: Tensor,
    mask_id: int,
    pad_id: int,
    drop_first_source: bool,
) -> RTLLayout:
    """Targets, mask-slot ids and the attention mask of the RTL head's input."""
    keep = target_mask.bool() & ~torch.isin(target_ids, special_ids.to(target_ids.device))
    slots = int(keep.sum(dim=1).max().item()) if keep.any() else 0
    # Left-align y's real pieces: piece j of row i goes to slot (number of kept pieces before it).
    slot_of_piece = keep.long().cumsum(dim=1) - 1
    labels = torch.full((len(target_ids), slots), IGNORE, dtype=torch.long, device=target_ids.device)
    rows = torch.arange(len(target_ids), device=target_ids.device)[:, None].expand_as(target_ids)
    labels[rows[keep], slot_of_piece[keep]] = target_ids[keep]
    slot_mask = labels != IGNORE
    slot_ids = torch.where(slot_mask, torch.full_like(labels, mask_id), torch.full_like(labels, pad_id))
    source_start = 1 if drop_first_source else 0
    attention_mask = torch.cat([source_mask[:, source_start:].long(), slot_mask.long()], dim=1)
    return RTLLayout(source_start, slot_ids, labels, attention_mask)


def pivot_vocabulary(tokenizer, sentences: Sequence[str]) -> Tensor:
    """The sorted distinct pieces of ``sentences`` (untruncated, as the DAP script), specials left out."""
    pieces = {piece for ids in tokenizer(list(sentences), verbose=False)["input_ids"] for piece in ids}
    return torch.tensor(sorted(pieces - set(tokenizer.all_special_ids)), dtype=torch.long)


def vocabulary_loss(
    hidden: Tensor, labels: Tensor, table: Tensor, bias: Tensor, vocabulary: Tensor | None = None
) -> Tensor:
    """Mean over rows of -log softmax(hidden @ table[V]^T + bias[V])[label], V = ``vocabulary``
    (sorted ids holding every label; None: every row of ``table``)."""
    if vocabulary is None:
        return F.cross_entropy((hidden @ table.T + bias).float(), labels)
    logits = hidden @ table[vocabulary].T + bias[vocabulary]
    return F.cross_entropy(logits.float(), torch.searchsorted(vocabulary, labels))


def starts_with_cls(tokenizer) -> bool:
    """Whether the tokenizer puts a [CLS]-like symbol at position 0 of every sentence."""
    first = tokenizer("a")["input_ids"][0]
    return tokenizer.cls_token_id is not None and first == tokenizer.cls_token_id


class RTLHead(nn.Module):
    """K transformer layers copied from the encoder's last K, plus the MLM vocabulary head.

    Holds no reference to the encoder module (its state is the head alone); the embedding layer
    that embeds the mask slots and the tied output table are the encoder's and are passed in.
    """

    def __init__(self, model: SentenceTransformer, layers: int = 2) -> None:
        super().__init__()
        encoder = auto_model(model)
        available = len(encoder.encoder.layer)
        if not 1 <= layers <= available:
            raise ConfigError(
                f"RTL needs 1 to {available} layers (the encoder has {available}), got {layers}"
            )
        self.layers = nn.ModuleList(copy.deepcopy(layer) for layer in encoder.encoder.layer[-layers:])
        self.vocabulary = MLMHead(
            encoder.config.hidden_size, encoder.config.vocab_size, encoder.config.hidden_act
        )
        self._encoder = [encoder]  # a list: the encoder's embedding layer is used, not owned
        tokenizer = model.tokenizer
        if tokenizer.mask_token_id is None:
            raise ConfigError("RTL needs a tokenizer with a mask symbol")
        self.mask_id = tokenizer.mask_token_id
        self.pad_id = tokenizer.pad_token_id
        self.drop_first_source = starts_with_cls(tokenizer)
        self.register_buffer("special_ids", torch.tensor(tokenizer.all_special_ids), persistent=False)
        # Not persistent: derived from the training data, which a resumed run reads again.
        self.register_buffer("vocabulary_ids", None, persistent=False)

    def restrict_vocabulary(self, ids: Tensor) -> None:
        """Predict over the sorted piece ids ``ids`` only (see the module docstring)."""
        self.vocabulary_ids = ids.to(self.special_ids.device)

    def targets(self, ids: Tensor, mask: Tensor) -> Tensor:
        """(B, L) bool: the pieces of y that are targets: real, not special, in the vocabulary."""
        chosen = mask.bool() & ~torch.isin(ids, self.special_ids.to(ids.device))
        if self.vocabulary_ids is not None:
            chosen &= torch.isin(ids, self.vocabulary_ids.to(ids.device))
        return chosen

    def layout(self, source: EncodedColumn, target: EncodedColumn) -> RTLLayout:
        return rtl_layout(
            source.attention_mask,
            target.input_ids,
            target.attention_mask,
            special_ids=self.special_ids,
            mask_id=self.mask_id,
            pad_id=self.pad_id,
            drop_first_source=self.drop_first_source,
        )

    def pieces(self, target: EncodedColumn) -> Tensor:
        """How many pieces of y the loss averages over."""
        return self.targets(target.input_ids, target.attention_mask).sum()

    def forward(self, source: EncodedColumn, target: EncodedColumn) -> Tensor:
        """L_RTL for one encoded batch (x = source, y = target)."""
        encoder = self._encoder[0]
        layout = self.layout(source, target)
        slots = encoder.embeddings(input_ids=layout.slot_ids)
        states = torch.cat([source.token_embeddings[:, layout.source_start :], slots], dim=1)
        mask = create_bidirectional_mask(
            config=encoder.config, inputs_embeds=states, attention_mask=layout.attention_mask
        )
        for layer in self.layers:
            states = layer(states, mask)
        slot_states = states[:, states.shape[1] - layout.labels.shape[1] :]
        selected = layout.labels != IGNORE
        if self.vocabulary_ids is not None:
            selected &= torch.isin(layout.labels, self.vocabulary_ids)
        if not selected.any():
            return states.sum() * 0.0  # a batch of empty targets: no loss, but a valid graph
        return vocabulary_loss(
            self.vocabulary.transform(slot_states[selected]),
            layout.labels[selected],
            encoder.get_input_embeddings().weight,
            self.vocabulary.output_bias,
            self.vocabulary_ids,
        )


class RTLLoss(SplitLoss):
    """sentence-transformers loss module for RTL alone."""

    components = ("rtl",)

    def __init__(self, model: SentenceTransformer, layers: int = 2) -> None:
        super().__init__()
        self.model = model
        self.rtl = RTLHead(model, layers)

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        source, target = encoded
        return {"rtl": RowTerm(self.rtl(source, target), self.rtl.pieces(target))}

    def get_config_dict(self) -> dict[str, int]:
        return {"layers": len(self.rtl.layers)}


def restrict_rtl_vocabulary(loss: nn.Module, tokenizer, pivot_sentences: Sequence[str]) -> None:
    """Give every RTL head in ``loss`` the pieces of the training pairs' pivot side (``rtl_vocabulary:
    english``); a loss without one is left as it is."""
    heads = [module for module in loss.modules() if isinstance(module, RTLHead)]
    if not heads:
        return
    if not pivot_sentences:
        raise ConfigError("rtl_vocabulary english needs the pivot side of the training pairs")
    vocabulary = pivot_vocabulary(tokenizer, pivot_sentences)
    for head in heads:
        head.restrict_vocabulary(vocabulary)
