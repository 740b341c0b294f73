"""SIM: the Lightweight model's sentence similarity structure task.

Each language's in-batch similarity structure (row-softmax of raw dot products) must match the
other's::

    P_x   = row-softmax(U_x U_x^T),   P_y = row-softmax(U_y U_y^T)
    L_SIM = - sum_ij log cos( (pi/2) (P_x - P_y)_ij )

The cosine is clamped away from zero before the log: a saturated softmax can make |P_x - P_y| = 1,
where float32 cos(pi/2) is slightly negative and the log would be NaN.

With negatives gathered across processes, each process computes its rows of P_x and P_y against
the rows of every process; the sum over its rows is multiplied by the number of processes
(:mod:`interlingua.losses.gather`), so that the mean over processes is the sum over the whole batch.

Reference: Mao et al., "Lightweight Cross-Lingual Sentence Representation Learning", ACL 2021,
arXiv 2105.13856 (section 3.3).

Inputs: two text columns (source, translation); no label.
Returns: ``{"sim": loss}``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.losses.align import sentence_vectors
from interlingua.losses.batch import Batch
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import LOCAL, Peers

_SMALLEST_COSINE = 1e-12


def sim_loss(source: Tensor, target: Tensor, peers: Peers = LOCAL) -> Tensor:
    """- sum_ij log cos((pi/2) (softmax(U_x U_x^T) - softmax(U_y U_y^T))_ij)."""
    sources, _ = peers.all_rows(source)
    targets, _ = peers.all_rows(target)
    source_structure = torch.softmax(source @ sources.T, dim=-1)
    target_structure = torch.softmax(target @ targets.T, dim=-1)
    cosine = torch.cos(math.pi / 2 * (source_structure - target_structure))
    return peers.scale_sum(-torch.log(cosine.clamp_min(_SMALLEST_COSINE)).sum())


class SimLoss(SplitLoss):
    """sentence-transformers loss module for :func:`sim_loss`."""

    components = ("sim",)

    def __init__(self, model: SentenceTransformer) -> None:
        super().__init__()
        self.model = model

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return sentence_vectors(encoded)

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        return {"sim": sim_loss(vectors["source"], vectors["target"], peers)}
