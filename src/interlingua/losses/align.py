"""ALIGN: the Lightweight model's cross-lingual sentence alignment task.

In-batch ranking on raw dot products (no normalisation, no temperature), both directions summed::

    S      = U_x U_y^T
    L_ALIGN = CE(S, diag) + CE(S^T, diag)

With negatives gathered across processes, U_y (and U_x for the other direction) holds the rows of
every process (:mod:`interlingua.losses.gather`).

Reference: Mao et al., "Lightweight Cross-Lingual Sentence Representation Learning", ACL 2021,
arXiv 2105.13856 (section 3.3).

Inputs: two text columns (source, translation); no label.
Returns: ``{"align": loss}``.
"""

from __future__ import annotations

from typing import Any

from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.losses.batch import Batch
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import LOCAL, Peers
from interlingua.losses.translation_ranking import ranking_cross_entropy


def align_loss(source: Tensor, target: Tensor, peers: Peers = LOCAL) -> Tensor:
    """CE(U_x U_y^T, diag) + CE(U_y U_x^T, diag) on raw dot products."""
    targets, offset = peers.all_rows(target)
    sources, _ = peers.all_rows(source)
    return ranking_cross_entropy(source @ targets.T, offset, peers=peers) + ranking_cross_entropy(
        target @ sources.T, offset, peers=peers
    )


def sentence_vectors(encoded: Any) -> dict[str, Tensor]:
    """The sentence embeddings of the (source, target) columns, as the in-batch terms read them."""
    source, target = encoded
    return {"source": source.sentence_embedding, "target": target.sentence_embedding}


class AlignLoss(SplitLoss):
    """sentence-transformers loss module for :func:`align_loss`."""

    components = ("align",)

    def __init__(self, model: SentenceTransformer) -> None:
        super().__init__()
        self.model = model

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return sentence_vectors(encoded)

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        return {"align": align_loss(vectors["source"], vectors["target"], peers)}

    def negatives_per_query(self, pool: int) -> int:
        return pool - 1
