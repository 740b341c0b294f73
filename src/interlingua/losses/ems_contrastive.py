"""EMS's sentence-level contrastive loss, through a training-only projection head.

    g(u)  = W2 ReLU(W1 u + b1) + b2          (d -> d -> 128; training only, not exported)
    S_ij  = cos(g(u_x,i), g(u_y,j)) / tau    (tau = 0.1)
    L_CL  = ( CE(S, diag) + CE(S^T, diag) ) / 2

This is bidirectional translation ranking on the projected vectors, so it reuses
:func:`interlingua.losses.translation_ranking.translation_ranking_loss` (scale = 1 / tau), including
its rule that a pair repeating another pair's sentence is not that pair's negative.  EMS trains with
negatives per device only (no gathering across devices): its recipe leaves ``gather_negatives`` off.

As in the EMS code, the projection is used in training only: retrieval reads the unprojected mean-
pooled vector, which this term trains only through g (translation ranking trains it directly).

Reference: Mao, Chu, Kurohashi, "EMS: Efficient and Effective Massively Multilingual Sentence
Embedding Learning", arXiv 2205.15744 (section 3.2).

Inputs: two text columns (source, translation); no label.
Returns: ``{"contrastive": loss}``.
"""

from __future__ import annotations

from typing import Any

from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.align import sentence_vectors
from interlingua.losses.batch import Batch, batch_columns
from interlingua.losses.encoding import EncodedColumn
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import LOCAL, Peers
from interlingua.losses.translation_ranking import duplicate_pairs, translation_ranking_loss


class ProjectionHead(nn.Module):
    """g(u) = W2 ReLU(W1 u + b1) + b2."""

    def __init__(self, hidden: int, output: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, output))

    def forward(self, sentence: Tensor) -> Tensor:
        return self.layers(sentence)


def ems_contrastive_term(
    projection: ProjectionHead,
    source: EncodedColumn,
    target: EncodedColumn,
    scale: float = 10.0,
    peers: Peers = LOCAL,
) -> Tensor:
    """L_CL for one encoded batch (its token ids and sentence embeddings)."""
    return translation_ranking_loss(
        projection(source.sentence_embedding),
        projection(target.sentence_embedding),
        scale=scale,
        bidirectional=True,
        duplicates=duplicate_pairs(source, target, peers),
        peers=peers,
    )


class EMSContrastiveLoss(SplitLoss):
    """sentence-transformers loss module for EMS's contrastive loss (``scale`` = 1 / tau)."""

    components = ("contrastive",)

    def __init__(self, model: SentenceTransformer, scale: float = 10.0, projection_dim: int = 128) -> None:
        super().__init__()
        self.model = model
        self.scale = scale
        self.projection = ProjectionHead(model.get_embedding_dimension(), projection_dim)

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return sentence_vectors(encoded)

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        columns = batch_columns(batch, vectors)
        loss = ems_contrastive_term(self.projection, columns["source"], columns["target"], self.scale, peers)
        return {"contrastive": loss}

    def negatives_per_query(self, pool: int) -> int:
        return pool - 1

    def get_config_dict(self) -> dict[str, float | int]:
        return {"scale": self.scale, "projection_dim": self.projection.layers[-1].out_features}
