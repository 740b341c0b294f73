"""DAP: dual-alignment pre-training = translation ranking + RTL.

    phi_ij = ( cos(m(u_x,i), m(u_y,j)) - m_a [i == j] ) / tau,   m(u) = tanh(W u + b)
    L_TR   = -(1/B) sum_i log( e^{phi_ii} / sum_j e^{phi_ij} )
    L      = L_TR + w_RTL L_RTL

m is a training-only layer; tau = 0.05 (scale 20).

Ranking is non-English -> English only, with in-batch negatives (one process: no gathering
across devices) and LaBSE's optional additive margin m_a (0 by default).  u is the model's
sentence embedding: the paper's last-layer [CLS] when the recipe sets ``pooling: cls``.  Paper
and code differ on the RTL weight: the paper writes L_TR + L_RTL, the public code uses 0.1 L_RTL;
the code's 0.1 is the default here, as it produced the published numbers.  The dense + tanh
layer m is also the code's (the paper does not mention it).

Reference: Li et al., "Dual-Alignment Pre-training for Cross-lingual Sentence Embedding",
ACL 2023, arXiv 2305.09148.

Inputs: two text columns (non-English, English); no label.
Returns: ``{"translation_ranking": L_TR, "rtl": w_RTL L_RTL}`` (components already weighted).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.encoding import EncodedColumn, encode_pair
from interlingua.losses.rtl import RTLHead
from interlingua.losses.translation_ranking import same_rows, translation_ranking_loss


class RankingHead(nn.Module):
    """m(u) = tanh(W u + b), the DAP code's training-only layer before the ranking cosine."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, sentence: Tensor) -> Tensor:
        return torch.tanh(self.dense(sentence))


def dap_ranking_term(
    head: RankingHead, source: EncodedColumn, target: EncodedColumn, scale: float = 20.0, margin: float = 0.0
) -> Tensor:
    """L_TR (non-English -> English) on the ranking head's outputs."""
    duplicates = same_rows(source.input_ids, source.attention_mask) | same_rows(
        target.input_ids, target.attention_mask
    )
    return translation_ranking_loss(
        head(source.sentence_embedding),
        head(target.sentence_embedding),
        scale=scale,
        margin=margin,
        bidirectional=False,
        duplicates=duplicates,
    )


class DAPLoss(nn.Module):
    """Translation ranking through the ranking head + ``rtl_weight`` x RTL, on one forward pass."""

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

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        source, target = encode_pair(self.model, sentence_features)
        return {
            "translation_ranking": dap_ranking_term(
                self.ranking_head, source, target, self.scale, self.margin
            ),
            "rtl": self.rtl_weight * self.rtl(source, target),
        }

    def get_config_dict(self) -> dict[str, float | int]:
        return {
            "scale": self.scale,
            "margin": self.margin,
            "rtl_weight": self.rtl_weight,
            "rtl_layers": len(self.rtl.layers),
        }
