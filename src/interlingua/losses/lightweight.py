"""The Lightweight dual-transformer objective: UGT + 2 ALIGN + 2 SIM, on one forward pass.

    L = L_UGT + 2 L_ALIGN + 2 L_SIM

The batch is corrupted once for UGT (one piece masked on one side of each pair) and encoded once;
ALIGN and SIM use the sentence embeddings of that same corrupted pass, as in the paper's single
training step.  Components are returned already weighted, so that their sum is the loss the
trainer optimises and each logged value is that term's share of it.

Reference: Mao et al., "Lightweight Cross-Lingual Sentence Representation Learning", ACL 2021,
arXiv 2105.13856.

Inputs: two text columns (source, English); no label.
Returns: ``{"ugt": L_UGT, "align": 2 L_ALIGN, "sim": 2 L_SIM}``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.losses.align import align_loss
from interlingua.losses.encoding import encode_pair
from interlingua.losses.sim import sim_loss
from interlingua.losses.ugt import SinglePieceMasker, ugt_term
from interlingua.losses.xtr import XTRPredictor


class LightweightLoss(nn.Module):
    """UGT (Lightweight head) + ``align_weight`` ALIGN + ``sim_weight`` SIM."""

    def __init__(
        self,
        model: SentenceTransformer,
        align_weight: float = 2.0,
        sim_weight: float = 2.0,
        mask_weight: float = 0.5,
    ) -> None:
        super().__init__()
        self.model = model
        self.predictor = XTRPredictor(model, head="lightweight")
        self.masker = SinglePieceMasker(model.tokenizer)
        self.align_weight = align_weight
        self.sim_weight = sim_weight
        self.mask_weight = mask_weight

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        features, masks = self.masker(sentence_features)
        source, target = encode_pair(self.model, features)
        u_x, u_y = source.sentence_embedding, target.sentence_embedding
        return {
            "ugt": ugt_term(self.predictor, source, target, masks, labels, self.mask_weight),
            "align": self.align_weight * align_loss(u_x, u_y),
            "sim": self.sim_weight * sim_loss(u_x, u_y),
        }

    def get_config_dict(self) -> dict[str, float]:
        return {
            "align_weight": self.align_weight,
            "sim_weight": self.sim_weight,
            "mask_weight": self.mask_weight,
        }
