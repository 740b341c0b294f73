"""CZ-NCE: ML-CTL's cross-zero noise-contrastive estimation (and the InfoNCE it replaces).

For N samples (a_i, b_i) with similarity s(p, q) = cos(p, q) / tau (tau = 0.07), the negatives of
anchor a_i are every other sample of either side, (A \\ a_i) U (B \\ b_i); symmetrically for b_i::

    s+ = s(a_i, b_i),   N_i = { s(a_i, a_j), s(a_i, b_j) : j != i }
    InfoNCE_i = -log( e^{s+} / (e^{s+} + sum_{s- in N_i} e^{s-}) )
    CZ-NCE_i  = -log( e^{s+} / sum_{s- in N_i} e^{s-} ) = log sum_{s- in N_i} e^{s- - s+}
    L         = mean over the 2N anchors (a_i and b_i)

CZ-NCE leaves the positive out of the denominator, so it is not bounded below by zero: it goes
negative once the positive beats the negatives' soft maximum.  Pairs marked in ``duplicates``
(the same sentence twice in a batch) are not negatives of each other.  With negatives gathered
across processes, A and B hold the samples of every process (:mod:`interlingua.losses.gather`).

Reference: Chen et al., "Multi-Level Contrastive Learning for Cross-Lingual Alignment",
ICASSP 2022, arXiv 2202.13083 (section 2.3).

Inputs: two text columns (source, translation); no label.  The module on its own contrasts the
model's sentence embeddings; ML-CTL (:mod:`interlingua.losses.mlctl`) feeds it its own vectors.
Returns: ``{"cz_nce": loss}`` (``{"info_nce": loss}`` with ``cross_zero=False``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.losses.align import sentence_vectors
from interlingua.losses.batch import Batch, batch_columns
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import LOCAL, Peers
from interlingua.losses.translation_ranking import duplicate_pairs


def _anchor_losses(cross: Tensor, same: Tensor, excluded: Tensor, offset: int, cross_zero: bool) -> Tensor:
    """Per-anchor loss given its scores against the other side (``cross``) and its own (``same``);
    anchor i's positive is column ``offset + i`` of ``cross``."""
    rows = torch.arange(len(cross), device=cross.device)
    positive = cross[rows, rows + offset]
    negatives = torch.cat(
        [cross.masked_fill(excluded, float("-inf")), same.masked_fill(excluded, float("-inf"))], dim=1
    )
    if cross_zero:
        return torch.logsumexp(negatives - positive[:, None], dim=1)
    return torch.logsumexp(torch.cat([positive[:, None], negatives], dim=1), dim=1) - positive


def multi_negative_loss(
    source: Tensor,
    target: Tensor,
    *,
    scale: float = 1 / 0.07,
    cross_zero: bool = True,
    duplicates: Tensor | None = None,
    peers: Peers = LOCAL,
) -> Tensor:
    """CZ-NCE (or InfoNCE) over the negatives (A \\ a_i) U (B \\ b_i), symmetric, batch mean.

    ``duplicates`` (b, N): local sample i and sample j of all processes must not be negatives."""
    a, b = F.normalize(source, dim=-1), F.normalize(target, dim=-1)
    all_a, offset = peers.all_rows(a)
    all_b, _ = peers.all_rows(b)
    if len(all_a) < 2:
        return (source.sum() + target.sum()) * 0.0  # no negatives: no loss, but a valid graph
    rows = torch.arange(len(a), device=a.device)
    excluded = torch.zeros(len(a), len(all_a), dtype=torch.bool, device=a.device)
    excluded[rows, rows + offset] = True
    if duplicates is not None:
        excluded = excluded | duplicates
    losses = torch.cat(
        [
            _anchor_losses(a @ all_b.T * scale, a @ all_a.T * scale, excluded, offset, cross_zero),
            _anchor_losses(b @ all_a.T * scale, b @ all_b.T * scale, excluded, offset, cross_zero),
        ]
    )
    return peers.mean(losses)


class CZNCELoss(SplitLoss):
    """sentence-transformers loss module: CZ-NCE (or InfoNCE) on the model's sentence embeddings."""

    def __init__(self, model: SentenceTransformer, scale: float = 1 / 0.07, cross_zero: bool = True) -> None:
        super().__init__()
        self.model = model
        self.scale = scale
        self.cross_zero = cross_zero
        self.components = ("cz_nce" if cross_zero else "info_nce",)

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return sentence_vectors(encoded)

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        columns = batch_columns(batch, vectors)
        loss = multi_negative_loss(
            vectors["source"],
            vectors["target"],
            scale=self.scale,
            cross_zero=self.cross_zero,
            duplicates=duplicate_pairs(columns["source"], columns["target"], peers),
            peers=peers,
        )
        return {self.components[0]: loss}

    def negatives_per_query(self, pool: int) -> int:
        return 2 * (pool - 1)  # the other samples of both sides

    def get_config_dict(self) -> dict[str, float | bool]:
        return {"scale": self.scale, "cross_zero": self.cross_zero}
