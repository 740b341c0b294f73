"""Translation ranking with in-batch negatives (bidirectional, optional additive margin).

Given a batch of B translation pairs (x_i, y_i) embedded as u_i, v_i::

    S_ij = scale * (cos(u_i, v_j) - margin * [i == j])
    L    = ( CE(S, diag) + CE(S^T, diag) ) / 2          (bidirectional)
    L    =   CE(S, diag)                                (x -> y only)

``scale`` is the inverse temperature (20 = tau 0.05, the DAP code's value); ``margin`` is LaBSE's
additive margin (0.3 in the paper, 0 turns it off).  Pair j is not used as a negative for pair i
when it repeats i's source or target sentence (same token ids): scoring a true translation as a
negative would teach the model to separate identical sentences.

References: Guo et al. 2018 (translation ranking), Yang et al. 2019 (bidirectional, additive
margin), Feng et al. 2022 (LaBSE, arXiv 2007.01852).

Inputs: two text columns, (source, translation); no label.
Returns: ``{"translation_ranking": loss}``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor, nn


def same_rows(input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    """(B, B) boolean matrix: True where two padded token-id rows hold the same sentence."""
    ids = input_ids.masked_fill(attention_mask == 0, -1)
    return (ids[:, None, :] == ids[None, :, :]).all(dim=-1)


def translation_ranking_loss(
    source: Tensor,
    target: Tensor,
    *,
    scale: float = 20.0,
    margin: float = 0.0,
    bidirectional: bool = True,
    duplicates: Tensor | None = None,
) -> Tensor:
    """The loss on embeddings; ``duplicates`` (B, B) marks pairs that must not be negatives."""
    scores = F.normalize(source, dim=-1) @ F.normalize(target, dim=-1).T
    if margin:
        scores = scores - margin * torch.eye(len(scores), dtype=scores.dtype, device=scores.device)
    scores = scores * scale
    if duplicates is not None:
        off_diagonal = ~torch.eye(len(scores), dtype=torch.bool, device=scores.device)
        scores = scores.masked_fill(duplicates & off_diagonal, float("-inf"))
    labels = torch.arange(len(scores), device=scores.device)
    loss = F.cross_entropy(scores, labels)
    if bidirectional:
        loss = (loss + F.cross_entropy(scores.T, labels)) / 2
    return loss


class TranslationRankingLoss(nn.Module):
    """sentence-transformers loss module for :func:`translation_ranking_loss`."""

    def __init__(
        self,
        model: SentenceTransformer,
        scale: float = 20.0,
        margin: float = 0.0,
        bidirectional: bool = True,
        mask_duplicates: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.scale = scale
        self.margin = margin
        self.bidirectional = bidirectional
        self.mask_duplicates = mask_duplicates

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        features = list(sentence_features)
        source, target = embed_columns(self.model, features)
        duplicates = None
        if self.mask_duplicates:
            duplicates = same_rows(features[0]["input_ids"], features[0]["attention_mask"]) | same_rows(
                features[1]["input_ids"], features[1]["attention_mask"]
            )
        loss = translation_ranking_loss(
            source,
            target,
            scale=self.scale,
            margin=self.margin,
            bidirectional=self.bidirectional,
            duplicates=duplicates,
        )
        return {"translation_ranking": loss}

    def get_config_dict(self) -> dict[str, float | bool]:
        return {
            "scale": self.scale,
            "margin": self.margin,
            "bidirectional": self.bidirectional,
            "mask_duplicates": self.mask_duplicates,
        }
