"""XTR: cross-lingual token-level reconstruction (Lightweight and EMS).

Each sentence embedding must predict the bag of pieces of its translation.  For a pair (x, y)
with sentence embeddings u_x, u_y::

    t_y(w) = 1 / |y|   for each distinct piece id w of y  (padding excluded; |y| = distinct pieces)
    L_XTR  = KL(t_y || p(. | u_x)) + KL(t_x || p(. | u_y))          (each KL a batch mean)

METHODS.md says "1/|y| for each distinct piece id ... a repeated piece is counted once"; for the
target to be a distribution, |y| must then count distinct pieces, which is what is done here.  The
authors' code (Mao-KU/EMS, Mao-KU/lightweight-crosslingual-sent2vec) divides by the length in
pieces, repeats included, so its target sums to less than 1 when a piece repeats: not followed
(it changes the loss's scale on those rows only, not where its minimum lies).

Two prediction heads:

* ``lightweight`` (Mao et al. 2021): h = LayerNorm(swish(W u + b)); p = softmax(E h + b_out), with
  E the encoder's input embeddings (tied) and softmax over the whole vocabulary.
* ``ems`` (Mao, Chu, Kurohashi 2022): c = [LayerNorm(lang_emb(language of the OTHER side)) ; u]
  (128-d language embedding); h = LayerNorm(swish(W c + b)); p = softmax(W_out h), W_out untied
  and without bias.  The x side is told lang(y) and the y side lang(x).  This is the paper's head;
  the EMS code keeps the width d + 128 through W (h is (d + 128)-wide, and W_out decodes from it)
  and applies dropout 0.1 to the language embedding: not followed.  The EMS code also replaces one
  random piece of each pair by <MASK> in XTR mode (one piece of noise, the bags hold <MASK>): not
  followed either, XTR here is the paper's, and UGT (:mod:`interlingua.losses.ugt`) the masking one.

Languages: the target column is always the pivot (``languages[0]``); the source language of each
row comes in ``labels`` as an index into ``languages`` (the trainer's per-row language column).
Without labels, a run with one source language uses it; a run that mixes several uses one shared
"some source language" embedding for every row (EMS's language-embedding-off ablation, for the
y -> x direction only), and says so once in the log.

References: Mao et al., ACL 2021, arXiv 2105.13856; Mao, Chu, Kurohashi, arXiv 2205.15744.

Inputs: two text columns (source, English); optional per-row source-language index as label.
Returns: ``{"xtr": loss}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.errors import ConfigError
from interlingua.losses.batch import Batch, RowTerm
from interlingua.losses.encoding import EncodedColumn, input_embeddings
from interlingua.losses.engine import SplitLoss

logger = logging.getLogger(__name__)

XTR_HEADS = ("lightweight", "ems")
LANGUAGE_HEADS = ("ems",)  # the heads that read each row's source language (``labels``)


@dataclass
class PieceTarget:
    """A distribution over the vocabulary per row, kept as (piece id, weight) entries.

    The bag of a sentence has at most its length in pieces, out of a vocabulary of tens of
    thousands: a dense (B, V) target and a dense KL over it cost several times the log-softmax they
    are compared with (measured in docs/benchmarks.md).  Entries of weight 0 are padding; an id may
    appear in several entries, whose weights then add up.
    """

    ids: Tensor  # (B, K) long
    weights: Tensor  # (B, K) float

    def dense(self, vocab_size: int) -> Tensor:
        """The (B, V) distribution itself."""
        table = torch.zeros(self.ids.shape[0], vocab_size, dtype=self.weights.dtype, device=self.ids.device)
        return table.scatter_add_(1, self.ids, self.weights)

    def mixed(self, weight: float, other: PieceTarget, other_weight: float) -> PieceTarget:
        """weight * self + other_weight * other."""
        return PieceTarget(
            torch.cat([self.ids, other.ids], dim=1),
            torch.cat([weight * self.weights, other_weight * other.weights], dim=1),
        )

    def padded_to(self, entries: int) -> PieceTarget:
        """The same distribution with ``entries`` entries per row (zero-weight padding)."""
        missing = entries - self.ids.shape[1]
        return PieceTarget(F.pad(self.ids, (0, missing)), F.pad(self.weights, (0, missing)))

    def entropy_term(self) -> Tensor:
        """sum over rows and pieces of t log t, with the weights of repeated ids added first."""
        ids, order = self.ids.sort(dim=1)
        weights = self.weights.gather(1, order)
        starts = torch.ones_like(ids, dtype=torch.bool)
        starts[:, 1:] = ids[:, 1:] != ids[:, :-1]
        merged = torch.zeros_like(weights).scatter_add_(1, starts.cumsum(dim=1) - 1, weights)
        return torch.xlogy(merged, merged).sum()


def where_rows(condition: Tensor, chosen: PieceTarget, otherwise: PieceTarget) -> PieceTarget:
    """Row-wise choice between two targets: ``chosen`` where ``condition`` (B,) holds."""
    entries = max(chosen.ids.shape[1], otherwise.ids.shape[1])
    chosen, otherwise = chosen.padded_to(entries), otherwise.padded_to(entries)
    return PieceTarget(
        torch.where(condition[:, None], chosen.ids, otherwise.ids),
        torch.where(condition[:, None], chosen.weights, otherwise.weights),
    )


def bag_of_pieces(input_ids: Tensor, attention_mask: Tensor) -> PieceTarget:
    """1/|distinct pieces| on each distinct non-padding piece of a row."""
    # Padding becomes -1, which sorts first and equals no piece; each run of one id counts once.
    ids, _ = input_ids.masked_fill(attention_mask == 0, -1).sort(dim=1)
    distinct = ids >= 0
    distinct[:, 1:] &= ids[:, 1:] != ids[:, :-1]
    weights = distinct.float() / distinct.sum(dim=1, keepdim=True).clamp_min(1)
    return PieceTarget(ids.clamp_min(0), weights)


def kl_to_target(log_probs: Tensor, target: PieceTarget) -> Tensor:
    """KL(target || p) summed over the vocabulary, averaged over the batch."""
    cross = (target.weights * log_probs.gather(1, target.ids)).sum()
    return (target.entropy_term() - cross) / log_probs.shape[0]


class LightweightHead(nn.Module):
    """h = LayerNorm(swish(W u + b)); logits = E h + b_out, with E the tied input embeddings."""

    def __init__(self, hidden: int, vocab_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.output_bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, sentence: Tensor, output_embeddings: Tensor) -> Tensor:
        hidden = self.norm(F.silu(self.dense(sentence)))
        return hidden @ output_embeddings.T + self.output_bias


class EMSHead(nn.Module):
    """c = [LayerNorm(lang_emb(l)) ; u]; h = LayerNorm(swish(W c + b)); logits = W_out h (no bias)."""

    def __init__(self, hidden: int, vocab_size: int, languages: int, language_dim: int = 128) -> None:
        super().__init__()
        self.language_embedding = nn.Embedding(languages, language_dim)
        self.language_norm = nn.LayerNorm(language_dim)
        self.dense = nn.Linear(language_dim + hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.output = nn.Linear(hidden, vocab_size, bias=False)

    def forward(self, sentence: Tensor, other_language: Tensor) -> Tensor:
        language = self.language_norm(self.language_embedding(other_language))
        hidden = self.norm(F.silu(self.dense(torch.cat([language, sentence], dim=-1))))
        return self.output(hidden)


class XTRPredictor(nn.Module):
    """p(. | u) for either head; shared by the XTR and UGT losses.

    It keeps no reference to the encoder module, only to its embedding table (for the tied head),
    so that its state is the training-only head alone.  ``languages`` (EMS head only) lists the
    language codes, the pivot first; one more embedding row stands for an unknown source language.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        head: str = "lightweight",
        languages: Sequence[str] = ("eng",),
        language_dim: int = 128,
    ) -> None:
        super().__init__()
        if head not in XTR_HEADS:
            raise ConfigError(f"unknown XTR head {head!r}; choose one of {', '.join(XTR_HEADS)}")
        embeddings = input_embeddings(model)
        hidden, vocab_size = embeddings.embedding_dim, embeddings.num_embeddings
        self.kind = head
        self.languages = list(languages)
        self._embeddings = [embeddings]  # a list: the tied table is the encoder's, not a head tensor
        if head == "lightweight":
            self.head: nn.Module = LightweightHead(hidden, vocab_size)
        else:
            self.head = EMSHead(hidden, vocab_size, len(self.languages) + 1, language_dim)
        self._warned_unknown_language = False

    @property
    def unknown_language(self) -> int:
        return len(self.languages)

    def source_languages(self, labels: Tensor | None, rows: int, device: torch.device) -> Tensor:
        """Per-row index of the source language: the labels, the only one, or "unknown"."""
        if labels is not None:
            return labels.to(device=device, dtype=torch.long)
        if len(self.languages) == 2:
            return torch.full((rows,), 1, dtype=torch.long, device=device)
        if not self._warned_unknown_language:
            logger.warning(
                "XTR (EMS head): no per-row language ids; every source row gets one shared language "
                "embedding (pass each row's source-language index as the 'label' column to fix this)."
            )
            self._warned_unknown_language = True
        return torch.full((rows,), self.unknown_language, dtype=torch.long, device=device)

    def log_probs(self, sentence: Tensor, other_language: Tensor | None = None) -> Tensor:
        """log p(. | u) over the vocabulary; ``other_language`` is the EMS head's language input."""
        if self.kind == "lightweight":
            logits = self.head(sentence, self._embeddings[0].weight)
        else:
            logits = self.head(sentence, other_language)
        return F.log_softmax(logits.float(), dim=-1)

    def pair_log_probs(self, source: Tensor, target: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor]:
        """(log p(. | u_x, lang(y)), log p(. | u_y, lang(x))) for a batch of pairs; ``labels`` are the
        rows' source-language indices (EMS head only)."""
        if self.kind == "lightweight":
            return self.log_probs(source), self.log_probs(target)
        pivot = torch.zeros(len(source), dtype=torch.long, device=source.device)
        source_language = self.source_languages(labels, len(source), source.device)
        return self.log_probs(source, pivot), self.log_probs(target, source_language)


def xtr_loss(
    source_log_probs: Tensor, target_log_probs: Tensor, source_bag: PieceTarget, target_bag: PieceTarget
) -> Tensor:
    """KL(t_y || p(. | u_x)) + KL(t_x || p(. | u_y))."""
    return kl_to_target(source_log_probs, target_bag) + kl_to_target(target_log_probs, source_bag)


def xtr_term(
    predictor: XTRPredictor, source: EncodedColumn, target: EncodedColumn, labels: Tensor | None
) -> Tensor:
    """L_XTR for one encoded batch; ``labels`` are the source-language indices (EMS head)."""
    source_log_probs, target_log_probs = predictor.pair_log_probs(
        source.sentence_embedding, target.sentence_embedding, labels
    )
    return xtr_loss(
        source_log_probs,
        target_log_probs,
        bag_of_pieces(source.input_ids, source.attention_mask),
        bag_of_pieces(target.input_ids, target.attention_mask),
    )


class XTRLoss(SplitLoss):
    """sentence-transformers loss module for XTR with either head."""

    components = ("xtr",)

    def __init__(
        self,
        model: SentenceTransformer,
        head: str = "lightweight",
        languages: Sequence[str] = ("eng",),
        language_dim: int = 128,
    ) -> None:
        super().__init__()
        self.model = model
        self.predictor = XTRPredictor(model, head, languages, language_dim)

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        source, target = encoded
        return {"xtr": RowTerm(xtr_term(self.predictor, source, target, batch.labels), len(batch))}

    def get_config_dict(self) -> dict[str, str]:
        return {"head": self.predictor.kind}
