"""ALIGN: the Lightweight model's cross-lingual sentence alignment task.

In-batch ranking on raw dot products (no normalisation, no temperature), both directions summed::

    S      = U_x U_y^T
    L_ALIGN = CE(S, diag) + CE(S^T, diag)

Reference: Mao et al., "Lightweight Cross-Lingual Sentence Representation Learning", ACL 2021,
arXiv 2105.13856 (section 3.3).

Inputs: two text columns (source, translation); no label.
Returns: ``{"align": loss}``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.encoding import encode_pair


def align_loss(source: Tensor, target: Tensor) -> Tensor:
    """CE(U_x U_y^T, diag) + CE(U_y U_x^T, diag) on raw dot products."""
    scores = source @ target.T
    labels = torch.arange(len(scores), device=scores.device)
    return F.cross_entropy(scores, labels) + F.cross_entropy(scores.T, labels)


class AlignLoss(nn.Module):
    """sentence-transformers loss module for :func:`align_loss`."""

    def __init__(self, model: SentenceTransformer) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        source, target = encode_pair(self.model, sentence_features)
        return {"align": align_loss(source.sentence_embedding, target.sentence_embedding)}
