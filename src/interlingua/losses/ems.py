"""The EMS objective: XTR with the language-aware head + 2 x contrastive, on one forward pass.

    L = L_XTR + 2 L_CL

XTR uses EMS's head (the other side's language embedding concatenated, untied output without
bias); the contrastive term goes through the training-only projection head at tau = 0.1.  Both
read the same sentence embeddings.  Components are returned already weighted.

Training settings of the EMS code that the ``ems`` recipe does not follow (METHODS.md): Adam with
L2 added to the gradient (here AdamW, decoupled; at weight decay 1e-5 the two hardly differ); no
gradient clipping (the Trainer clips at norm 1.0); embeddings initialised N(0, 1) (here BERT's
std 0.02); random mixed-language batches (here length buckets); temperature sampling off by
default (the recipe takes the paper's T = 5; the ablation's ``ems-t1`` row tests T = 1).  See
:mod:`interlingua.losses.xtr` for the head and the target.

Reference: Mao, Chu, Kurohashi, "EMS: Efficient and Effective Massively Multilingual Sentence
Embedding Learning", arXiv 2205.15744.

Inputs: two text columns (source, English); the per-row source-language index as label (see
:mod:`interlingua.losses.xtr` for what happens without it).
Returns: ``{"xtr": L_XTR, "contrastive": 2 L_CL}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.losses.align import sentence_vectors
from interlingua.losses.batch import Batch, RowTerm, batch_columns
from interlingua.losses.ems_contrastive import ProjectionHead, ems_contrastive_term
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import Peers
from interlingua.losses.xtr import XTRPredictor, xtr_term


class EMSLoss(SplitLoss):
    """XTR (EMS head) + ``contrastive_weight`` x EMS contrastive."""

    components = ("xtr", "contrastive")

    def __init__(
        self,
        model: SentenceTransformer,
        languages: Sequence[str],
        language_dim: int = 128,
        scale: float = 10.0,
        projection_dim: int = 128,
        contrastive_weight: float = 2.0,
    ) -> None:
        super().__init__()
        self.model = model
        self.predictor = XTRPredictor(model, head="ems", languages=languages, language_dim=language_dim)
        self.projection = ProjectionHead(model.get_embedding_dimension(), projection_dim)
        self.scale = scale
        self.contrastive_weight = contrastive_weight

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        return sentence_vectors(encoded)

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        source, target = encoded
        return {"xtr": RowTerm(xtr_term(self.predictor, source, target, batch.labels), len(batch))}

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        columns = batch_columns(batch, vectors)
        contrastive = ems_contrastive_term(
            self.projection, columns["source"], columns["target"], self.scale, peers
        )
        return {"contrastive": self.contrastive_weight * contrastive}

    def negatives_per_query(self, pool: int) -> int:
        return pool - 1

    def get_config_dict(self) -> dict[str, float]:
        return {"scale": self.scale, "contrastive_weight": self.contrastive_weight}
