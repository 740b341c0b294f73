"""Multilingual knowledge distillation (SBERT-distill): the student matches the teacher.

For a pair (x, y) with y in the teacher's language (English)::

    L = MSE(student(x), teacher(y)) + MSE(student(y), teacher(y))

MSE is the mean over the batch and the embedding dimensions (as ``nn.MSELoss``), so the student's
width must equal the teacher's.  The teacher is any sentence-transformers model (a folder or hub
name; a plain transformers folder gets mean pooling), frozen and outside the loss's state: it is
neither optimised nor saved with the training heads.

The loss receives the student's pieces, not text, so the teacher reads y decoded from them
(special symbols dropped).  With a student that lower-cases, the teacher sees lower-cased text;
that is the price of computing teacher(y) on the fly instead of storing it with the dataset.
``teacher_prefix`` is prepended to what the teacher reads (e5 teachers expect "query: ").

Reference: Reimers & Gurevych, "Making Monolingual Sentence Embeddings Multilingual using
Knowledge Distillation", EMNLP 2020, arXiv 2004.09813.

Inputs: two text columns (source, English); no label.
Returns: ``{"distillation_source": MSE(student(x), teacher(y)),
"distillation_target": MSE(student(y), teacher(y))}``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.errors import ConfigError
from interlingua.losses.encoding import unwrap
from interlingua.losses.engine import Batch, RowTerm, SplitLoss


def distillation_terms(source: Tensor, target: Tensor, teacher_target: Tensor) -> dict[str, Tensor]:
    """MSE of both student embeddings to the teacher's embedding of the English side."""
    return {
        "distillation_source": F.mse_loss(source, teacher_target),
        "distillation_target": F.mse_loss(target, teacher_target),
    }


class DistillationLoss(SplitLoss):
    """sentence-transformers loss module for multilingual distillation from a frozen teacher."""

    components = ("distillation_source", "distillation_target")

    def __init__(
        self, model: SentenceTransformer, teacher: SentenceTransformer, teacher_prefix: str = ""
    ) -> None:
        super().__init__()
        student_dim = model.get_embedding_dimension()
        teacher_dim = teacher.get_embedding_dimension()
        if student_dim != teacher_dim:
            raise ConfigError(
                f"the student's embeddings have {student_dim} dimensions and the teacher's {teacher_dim}: "
                f"set the student's width to {teacher_dim} (--hidden {teacher_dim})"
            )
        self.model = model
        teacher.eval()
        teacher.requires_grad_(False)
        # Kept out of the module tree: the teacher is neither a training head nor part of the export.
        self.__dict__["teacher"] = teacher
        self.teacher_prefix = teacher_prefix

    def teacher_embeddings(self, input_ids: Tensor) -> Tensor:
        texts = unwrap(self.model).tokenizer.batch_decode(input_ids, skip_special_tokens=True)
        with torch.no_grad():
            embeddings = self.teacher.encode(
                [self.teacher_prefix + text for text in texts],
                batch_size=len(texts),
                convert_to_tensor=True,
                show_progress_bar=False,
            )
        # encode() returns an inference-mode tensor; a plain copy can take part in autograd.
        return embeddings.clone().to(input_ids.device)

    def prepare(self, features: list[dict[str, Tensor]], labels: Tensor | None) -> Batch:
        """The teacher reads the English side once per batch (not again per GradCache chunk)."""
        batch = super().prepare(features, labels)
        batch.rows["teacher"] = self.teacher_embeddings(batch.features[1]["input_ids"])
        return batch

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        source, target = encoded
        teacher = batch.rows["teacher"]
        terms = distillation_terms(source.sentence_embedding, target.sentence_embedding, teacher)
        return {name: RowTerm(value, len(batch)) for name, value in terms.items()}

    def get_config_dict(self) -> dict[str, str]:
        return {"teacher_prefix": self.teacher_prefix}
