"""CZ-NCE: ML-CTL's cross-zero noise-contrastive estimation (and the InfoNCE it replaces).

For N samples (a_i, b_i) with similarity s(p, q) = cos(p, q) / tau (tau = 0.07), the negatives of
anchor a_i are every other sample of either side, (A \\ a_i) U (B \\ b_i); symmetrically for b_i::

    s+ = s(a_i, b_i),   N_i = { s(a_i, a_j), s(a_i, b_j) : j != i }
    InfoNCE_i = -log( e^{s+} / (e^{s+} + sum_{s- in N_i} e^{s-}) )
    CZ-NCE_i  = -log( e^{s+} / sum_{s- in N_i} e^{s-} ) = log sum_{s- in N_i} e^{s- - s+}
    L         = mean over the 2N anchors (a_i and b_i)

CZ-NCE leaves the positive out of the denominator, so it is not bounded below by zero: it goes
negative once the positive beats the negatives' soft maximum.  Pairs marked in ``duplicates``
(the same sentence twice in a batch) are not negatives of each other.

Reference: Chen et al., "Multi-Level Contrastive Learning for Cross-Lingual Alignment",
ICASSP 2022, arXiv 2202.13083 (section 2.3).

Inputs: two text columns (source, translation); no label.  The module on its own contrasts the
model's sentence embeddings; ML-CTL (:mod:`interlingua.losses.mlctl`) feeds it its own vectors.
Returns: ``{"cz_nce": loss}`` (``{"info_nce": loss}`` with ``cross_zero=False``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.encoding import encode_pair
from interlingua.losses.translation_ranking import same_rows


def _anchor_losses(cross: Tensor, same: Tensor, excluded: Tensor, cross_zero: bool) -> Tensor:
    """Per-anchor loss given its scores against the other side (``cross``) and its own (``same``)."""
    positive = cross.diagonal()
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
) -> Tensor:
    """CZ-NCE (or InfoNCE) over the negatives (A \\ a_i) U (B \\ b_i), symmetric, batch mean."""
    if len(source) < 2:
        return (source.sum() + target.sum()) * 0.0  # no negatives: no loss, but a valid graph
    a, b = F.normalize(source, dim=-1), F.normalize(target, dim=-1)
    eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
    excluded = eye if duplicates is None else eye | duplicates
    cross = a @ b.T * scale
    losses = torch.cat(
        [
            _anchor_losses(cross, a @ a.T * scale, excluded, cross_zero),
            _anchor_losses(cross.T, b @ b.T * scale, excluded, cross_zero),
        ]
    )
    return losses.mean()


class CZNCELoss(nn.Module):
    """sentence-transformers loss module: CZ-NCE (or InfoNCE) on the model's sentence embeddings."""

    def __init__(self, model: SentenceTransformer, scale: float = 1 / 0.07, cross_zero: bool = True) -> None:
        super().__init__()
        self.model = model
        self.scale = scale
        self.cross_zero = cross_zero

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        source, target = encode_pair(self.model, sentence_features)
        duplicates = same_rows(source.input_ids, source.attention_mask) | same_rows(
            target.input_ids, target.attention_mask
        )
        loss = multi_negative_loss(
            source.sentence_embedding,
            target.sentence_embedding,
            scale=self.scale,
            cross_zero=self.cross_zero,
            duplicates=duplicates,
        )
        return {"cz_nce" if self.cross_zero else "info_nce": loss}

    def get_config_dict(self) -> dict[str, float | bool]:
        return {"scale": self.scale, "cross_zero": self.cross_zero}
