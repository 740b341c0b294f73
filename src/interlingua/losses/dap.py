"""DAP: dual-alignment pre-training = translation ranking + RTL.

    phi_ij = ( cos(m(u_x,i), m(u_y,j)) - m_a [i == j] ) / tau,   m(u) = tanh(W u + b)
    L_TR   = -(1/B) sum_i log( e^{phi_ii} / sum_j e^{phi_ij} )
    L      = L_TR + w_RTL L_RTL

m is a training-only layer; tau = 0.05 (scale 20).

Ranking is non-English -> English only, with in-batch negatives gathered across devices (the
recipe sets ``gather_negatives``; a single process has its own batch only) and LaBSE's optional
additive margin m_a (0 by default).  u is the model's
sentence embedding: the paper's last-layer [CLS] when the recipe sets ``pooling: cls``.  Paper
and code differ on the RTL weight: the paper writes L_TR + L_RTL, the public code uses 0.1 L_RTL;
the code's 0.1 is the default here, as it produced the published numbers.  The dense + tanh
layer m is also the code's (the paper does not mention it).

Where the authors' code (ChillingDream/DAP) reads otherwise, and what is followed here:

* the margin: the code subtracts m_a from the logit after dividing by tau (phi = cos / tau - m_a);
  here it is LaBSE's (cos - m_a) / tau, as the formula above.  The recipe's m_a is 0, where the
  two agree; with a margin, m_a here is in cosine units (0.3 here is 6 of the code's logit units).
* RTL's softmax: the English pieces of the training data, as the code's training scripts
  (``rtl_vocabulary: english``; see :mod:`interlingua.losses.rtl` for its other differences).
* the TR baseline of the code trains at lr 3e-5; the recipe's 5e-5 is DAP's.

Reference: Li et al., "Dual-Alignment Pre-training for Cross-lingual Sentence Embedding",
ACL 2023, arXiv 2305.09148.

Inputs: two text columns (non-English, English); no label.
Returns: ``{"translation_ranking": L_TR, "rtl": w_RTL L_RTL}`` (components already weighted).
"""

from __future__ import annotations

from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.align import sentence_vectors
from interlingua.losses.batch import Batch, RowTerm, batch_columns
from interlingua.losses.encoding import EncodedColumn
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import LOCAL, Peers
from interlingua.losses.rtl import RTLHead
from interlingua.losses.translation_ranking import duplicate_pairs, translation_ranking_loss


class RankingHead(nn.Module):
    """m(u) = tanh(W u + b), the DAP code's training-only layer before the ranking cosine."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, sentence: Tensor) -> Tensor:
        return torch.tanh(self.dense(sentence))


def dap_ranking_term(
    head: RankingHead,
    source: EncodedColumn,
    target: EncodedColumn,
    scale: float = 20.0,
    margin: float = 0.0,
    peers: Peers = LOCAL,
) -> Tensor:
    """L_TR (non-English -> English) on the ranking head's outputs."""
    return translation_ranking_loss(
        head(source.sentence_embedding),
        head(target.sentence_embedding),
        scale=scale,
        margin=margin,
        bidirectional=False,
        duplicates=duplicate_pairs(source, target, peers),
        peers=peers,
    )


class DAPLoss(SplitLoss):
    """Translation ranking through the ranking head + ``rtl_weight`` x RTL, on one forward pass."""

    components = ("translation_ranking", "rtl")

    def __init__(
        self,
        model: SentenceTransformer,
        scale: float = 20.0,
        margin: float = 0.0,
        rtl_weight: float = 0.1,
        rtl_layers: int = 2,
    ) -> None:
        super().__init__()
        self.model = model
        self.ranking_head = RankingHead(model.get_embedding_dimension())
        self.rtl = RTLHead(model, rtl_layers)
        self.scale = scale
        self.margin = margin
        self.rtl_weight = rtl_weight

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return sentence_vectors(encoded)

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        source, target = encoded
        return {"rtl": RowTerm(self.rtl_weight * self.rtl(source, target), self.rtl.pieces(target))}

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        columns = batch_columns(batch, vectors)
        ranking = dap_ranking_term(
            self.ranking_head, columns["source"], columns["target"], self.scale, self.margin, peers
        )
        return {"translation_ranking": ranking}

    def negatives_per_query(self, pool: int) -> int:
        return pool - 1

    def get_config_dict(self) -> dict[str, float | int]:
        return {
            "scale": self.scale,
            "margin": self.margin,
            "rtl_weight": self.rtl_weight,
            "rtl_layers": len(self.rtl.layers),
        }
