"""SIM: the Lightweight model's sentence similarity structure task.

Each language's in-batch similarity structure (row-softmax of raw dot products) must match the
other's::

    P_x   = row-softmax(U_x U_x^T),   P_y = row-softmax(U_y U_y^T)
    L_SIM = - sum_ij log cos( (pi/2) (P_x - P_y)_ij )

The cosine is clamped away from zero before the log: a saturated softmax can make |P_x - P_y| = 1,
where float32 cos(pi/2) is slightly negative and the log would be NaN.

Reference: Mao et al., "Lightweight Cross-Lingual Sentence Representation Learning", ACL 2021,
arXiv 2105.13856 (section 3.3).

Inputs: two text columns (source, translation); no label.
Returns: ``{"sim": loss}``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.encoding import encode_pair

_SMALLEST_COSINE = 1e-12


def sim_loss(source: Tensor, target: Tensor) -> Tensor:
    """- sum_ij log cos((pi/2) (softmax(U_x U_x^T) - softmax(U_y U_y^T))_ij)."""
    source_structure = torch.softmax(source @ source.T, dim=-1)
    target_structure = torch.softmax(target @ target.T, dim=-1)
    cosine = torch.cos(math.pi / 2 * (source_structure - target_structure))
    return -torch.log(cosine.clamp_min(_SMALLEST_COSINE)).sum()


class SimLoss(nn.Module):
    """sentence-transformers loss module for :func:`sim_loss`."""

    def __init__(self, model: SentenceTransformer) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        source, target = encode_pair(self.model, sentence_features)
        return {"sim": sim_loss(source.sentence_embedding, target.sentence_embedding)}
