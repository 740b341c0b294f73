"""TR+: translation ranking on the sentence embedding plus lambda x one token-level term.

    L = L_TR + lambda L_token

L_TR is :mod:`interlingua.losses.translation_ranking` on the model's own sentence embeddings u, v
(bidirectional, S_ij = scale (cos(u_i, v_j) - margin [i == j]); the ``tr`` recipe's tau 0.05).
L_token is one of the seed methods' token-level terms, each as its own module defines it:

* ``xtr``  : KL(t_y || p(. | u_x)) + KL(t_x || p(. | u_y)), the bag of the translation's pieces
  predicted from the sentence embedding (:mod:`~interlingua.losses.xtr`; head ``lightweight``,
  tied to the input embeddings, or ``ems``);
* ``ugt``  : XTR with one piece masked on one side of each pair (:mod:`~interlingua.losses.ugt`).
  The batch is encoded once, masked, so L_TR ranks the masked pass too, as Lightweight's ALIGN;
* ``rtl``  : DAP's reconstruction of the English pieces from the non-English token states
  (:mod:`~interlingua.losses.rtl`), over the English pieces of the data by default;
* ``word`` : ML-CTL's word-level CZ-NCE between z[s_x ; w_x] and z[s_y ; w_y] of aligned words
  (:mod:`~interlingua.losses.mlctl`), at ML-CTL's tau 0.07.

Why: the methods this toolkit implements each pair their token term with a sentence objective of
their own (EMS: a projected contrastive loss at tau 0.1; DAP: one-way ranking through a tanh layer;
ML-CTL: CZ-NCE on z), so comparing them with translation ranking mixes two changes.  Here the
sentence objective is the ``tr`` recipe's and only the token term is added: does token-level
alignment pay on top of translation ranking (issue 13)?

Inputs: two text columns (source, English); label: each row's source-language index, for the EMS
XTR head only.
Returns: ``{"translation_ranking": L_TR, name: lambda L_token}`` with name ``xtr``, ``ugt``,
``rtl`` or ``word_contrastive`` (components already weighted).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.batch import Batch, RowTerm, batch_columns
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import Peers
from interlingua.losses.mlctl import (
    ContrastHead,
    WordSampler,
    read_lexicon,
    sample_vectors,
    word_contrastive_loss,
)
from interlingua.losses.rtl import RTLHead
from interlingua.losses.translation_ranking import duplicate_pairs, translation_ranking_loss
from interlingua.losses.ugt import SinglePieceMasker, batch_masks, masked_batch, ugt_term
from interlingua.losses.xtr import XTRPredictor, xtr_term

WORD_KEYS = ("word_sentence_x", "word_x", "word_sentence_y", "word_y")


class TokenTerm(nn.Module):
    """One token-level term: the parts of :class:`SplitLoss` it has (by default none), unweighted."""

    name = ""
    hidden_states = False  # whether it reads every layer's states (the word term)

    def prepare(self, batch: Batch) -> Batch:
        return batch

    def row_term(self, batch: Batch, encoded: Any) -> RowTerm | None:
        return None

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return {}

    def batch_term(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> Tensor | None:
        return None


class XTRTerm(TokenTerm):
    name = "xtr"

    def __init__(
        self, model: SentenceTransformer, head: str, languages: Sequence[str], language_dim: int = 128
    ) -> None:
        super().__init__()
        self.predictor = XTRPredictor(model, head, languages, language_dim)

    def row_term(self, batch: Batch, encoded: Any) -> RowTerm:
        source, target = encoded
        return RowTerm(xtr_term(self.predictor, source, target, batch.labels), len(batch))


class UGTTerm(XTRTerm):
    name = "ugt"

    def __init__(
        self,
        model: SentenceTransformer,
        head: str,
        languages: Sequence[str],
        language_dim: int = 128,
        mask_weight: float = 0.5,
    ) -> None:
        super().__init__(model, head, languages, language_dim)
        self.masker = SinglePieceMasker(model.tokenizer)
        self.mask_weight = mask_weight

    def prepare(self, batch: Batch) -> Batch:
        return masked_batch(self.masker, batch.features, batch.labels)

    def row_term(self, batch: Batch, encoded: Any) -> RowTerm:
        source, target = encoded
        loss = ugt_term(self.predictor, source, target, batch_masks(batch), batch.labels, self.mask_weight)
        return RowTerm(loss, len(batch))


class RTLTerm(TokenTerm):
    name = "rtl"

    def __init__(self, model: SentenceTransformer, layers: int = 2) -> None:
        super().__init__()
        self.rtl = RTLHead(model, layers)

    def row_term(self, batch: Batch, encoded: Any) -> RowTerm:
        source, target = encoded
        return RowTerm(self.rtl(source, target), self.rtl.pieces(target))


class WordTerm(TokenTerm):
    name = "word_contrastive"
    hidden_states = True

    def __init__(
        self,
        model: SentenceTransformer,
        lexicon: str | Path | None = None,
        scale: float = 1 / 0.07,
        cross_zero: bool = True,
    ) -> None:
        super().__init__()
        self.head = ContrastHead(model.get_embedding_dimension())
        self.sampler = WordSampler(model.tokenizer, read_lexicon(lexicon) if lexicon else None)
        self.scale = scale
        self.cross_zero = cross_zero

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        vectors = sample_vectors(self.sampler, encoded[0], encoded[1])
        return {key: vectors[key] for key in WORD_KEYS}

    def batch_term(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> Tensor:
        return word_contrastive_loss(self.head, vectors, self.scale, self.cross_zero, peers)


class TRPlusLoss(SplitLoss):
    """Translation ranking + ``weight`` x ``term``, on one forward pass."""

    def __init__(
        self,
        model: SentenceTransformer,
        term: TokenTerm,
        weight: float = 0.1,
        scale: float = 20.0,
        margin: float = 0.0,
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.term = term
        self.weight = weight
        self.scale = scale
        self.margin = margin
        self.bidirectional = bidirectional
        self.components = ("translation_ranking", term.name)
        self.hidden_states = term.hidden_states

    def prepare(self, features: list[dict], labels: Tensor | None) -> Batch:
        return self.term.prepare(super().prepare(features, labels))

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        source, target = encoded[:2]
        return {
            "source": source.sentence_embedding,
            "target": target.sentence_embedding,
            **self.term.row_vectors(batch, encoded),
        }

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        term = self.term.row_term(batch, encoded)
        return {} if term is None else {self.term.name: RowTerm(self.weight * term.value, term.items)}

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        columns = batch_columns(batch, vectors)
        ranking = translation_ranking_loss(
            vectors["source"],
            vectors["target"],
            scale=self.scale,
            margin=self.margin,
            bidirectional=self.bidirectional,
            duplicates=duplicate_pairs(columns["source"], columns["target"], peers),
            peers=peers,
        )
        losses = {"translation_ranking": ranking}
        term = self.term.batch_term(batch, vectors, peers)
        if term is not None:
            losses[self.term.name] = self.weight * term
        return losses

    def negatives_per_query(self, pool: int) -> int:
        return pool - 1

    def get_config_dict(self) -> dict[str, float | str | bool]:
        return {
            "token_term": self.term.name,
            "token_weight": self.weight,
            "scale": self.scale,
            "margin": self.margin,
            "bidirectional": self.bidirectional,
        }
