"""The Lightweight dual-transformer objective: UGT + 2 ALIGN + 2 SIM, on one forward pass.

    L = L_UGT + 2 L_ALIGN + 2 L_SIM

The batch is corrupted once for UGT (one piece masked on one side of each pair) and encoded once;
ALIGN and SIM use the sentence embeddings of that same corrupted pass, as in the paper's single
training step.  Components are returned already weighted, so that their sum is the loss the
trainer optimises and each logged value is that term's share of it.

Training settings of the authors' code that the ``lightweight`` recipe does not follow (METHODS.md):
after its 2,000 warm-up steps the code holds the peak and multiplies it by 0.1 from epoch 3; the
recipe decays linearly over the run (a budgeted run has no epochs to count).  As for EMS: Adam with
L2 added to the gradient (here AdamW), no gradient clipping (the Trainer clips at norm 1.0),
embeddings initialised N(0, 1) (here std 0.02), random mixed-language batches (here length buckets).

Reference: Mao et al., "Lightweight Cross-Lingual Sentence Representation Learning", ACL 2021,
arXiv 2105.13856.

Inputs: two text columns (source, English); no label.
Returns: ``{"ugt": L_UGT, "align": 2 L_ALIGN, "sim": 2 L_SIM}``.
"""

from __future__ import annotations

from typing import Any

from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.losses.align import align_loss, sentence_vectors
from interlingua.losses.batch import Batch, RowTerm
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import Peers
from interlingua.losses.sim import sim_loss
from interlingua.losses.ugt import SinglePieceMasker, batch_masks, masked_batch, ugt_term
from interlingua.losses.xtr import XTRPredictor


class LightweightLoss(SplitLoss):
    """UGT (Lightweight head) + ``align_weight`` ALIGN + ``sim_weight`` SIM."""

    components = ("ugt", "align", "sim")

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

    def prepare(self, features: list[dict], labels: Tensor | None) -> Batch:
        return masked_batch(self.masker, features, labels)

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return sentence_vectors(encoded)

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        source, target = encoded
        loss = ugt_term(self.predictor, source, target, batch_masks(batch), batch.labels, self.mask_weight)
        return {"ugt": RowTerm(loss, len(batch))}

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        u_x, u_y = vectors["source"], vectors["target"]
        return {
            "align": self.align_weight * align_loss(u_x, u_y, peers),
            "sim": self.sim_weight * sim_loss(u_x, u_y, peers),
        }

    def negatives_per_query(self, pool: int) -> int:
        return pool - 1  # ALIGN's; SIM compares similarity structures, it ranks nothing

    def get_config_dict(self) -> dict[str, float]:
        return {
            "align_weight": self.align_weight,
            "sim_weight": self.sim_weight,
            "mask_weight": self.mask_weight,
        }
