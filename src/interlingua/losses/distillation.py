"""Multilingual knowledge distillation with translation ranking: the student keeps the teacher's
geometry and learns alignment on its own embeddings.

For a batch of B pairs (x_i, y_i), y in the teacher's language (English), student embeddings
s(x_i), s(y_i) and teacher embeddings t_i = teacher(y_i)::

    D(a, t) = mean_i || c(a)_i - c(t)_i ||^2
    L = w_d * D(s(x), t) + w_d * D(s(y), t) + w_r * TR(s(x), s(y))

``TR`` is :func:`interlingua.losses.translation_ranking.translation_ranking_loss` (both directions,
duplicates masked).  With ``center`` (the default), c(a)_i = normalize(a_i - mean_j a_j): each
side's batch mean is removed and the rest compared by direction, so D = mean_i 2 - 2 cos.  Without
it, D is the paper's ``nn.MSELoss`` (the mean over the batch *and the d dimensions* of
(a_i - t_i)^2).

Why centre: e5 teachers put every sentence near one common direction (mean cosine 0.81 between
unrelated sentences).  Under plain MSE most of the target is that direction, which a student can
learn without telling any two sentences apart (measured: a from-scratch student distilled with plain
MSE for 20 CPU-minutes collapsed onto it, Tatoeba 6.5 -> 2.9, its MSE 0.00057 against 0.00050 for
the constant mean vector).  Centred, the common direction cancels on both sides: only what
distinguishes the sentences is compared, and a constant output has no direction left (D = 1 per
row, where the teacher's own embeddings score 0).  A student initialised from the teacher shares its
common direction, so centring changes nothing it already has.  The translation-ranking term guards
against collapse from the other side: it is lowest when translations are nearer each other than any
other sentence of the batch.

The teacher's embeddings come as the ``labels`` of the batch, (B, d) floats (the trainer computes
them once per distinct sentence and caches them: ``interlingua.models.teacher_cache``), as in
sentence-transformers' ``MSELoss``.  Without labels a ``teacher`` model given to the loss encodes the
English side on the fly, from the text decoded from the student's pieces (with a lower-casing
student it then sees lower-cased text); ``teacher_prefix`` is prepended to what it reads (e5
expects "query: ").

Reference: Reimers & Gurevych, "Making Monolingual Sentence Embeddings Multilingual using
Knowledge Distillation", EMNLP 2020, arXiv 2004.09813 (MSE to the teacher's English embedding);
the ranking term as in LaBSE's and this toolkit's translation ranking.

Inputs: two text columns (source, English); label: the teacher's embedding of the English side
(optional when a teacher model is given).
Returns: ``{"distillation_source", "distillation_target", "translation_ranking"}``, each weighted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.errors import ConfigError
from interlingua.losses.batch import Batch
from interlingua.losses.encoding import unwrap
from interlingua.losses.gather import Peers
from interlingua.losses.translation_ranking import TranslationRankingLoss


def centred(vectors: Tensor) -> Tensor:
    """Each row minus the mean row, normalised to unit length (a zero row stays zero)."""
    return F.normalize(vectors - vectors.mean(dim=0, keepdim=True), dim=-1)


def distillation_distance(student: Tensor, teacher: Tensor, center: bool = True) -> Tensor:
    """D(student, teacher) of the module docstring: centred squared distance, or the paper's MSE."""
    if not center:
        return F.mse_loss(student, teacher)
    return (centred(student) - centred(teacher)).pow(2).sum(dim=-1).mean()


def distillation_terms(
    source: Tensor, target: Tensor, teacher_target: Tensor, center: bool = True
) -> dict[str, Tensor]:
    """D of both student embeddings to the teacher's embedding of the English side."""
    return {
        "distillation_source": distillation_distance(source, teacher_target, center),
        "distillation_target": distillation_distance(target, teacher_target, center),
    }


class DistillationLoss(TranslationRankingLoss):
    """sentence-transformers loss module: distillation to a frozen teacher plus translation ranking."""

    components = ("distillation_source", "distillation_target", "translation_ranking")

    def __init__(
        self,
        model: SentenceTransformer,
        teacher: SentenceTransformer | None = None,
        teacher_prefix: str = "",
        *,
        distill_weight: float = 1.0,
        ranking_weight: float = 1.0,
        center: bool = True,
        scale: float = 20.0,
        teacher_dim: int | None = None,
    ) -> None:
        super().__init__(model, scale=scale)
        if teacher is not None:
            teacher.eval()
            teacher.requires_grad_(False)
            teacher_dim = teacher.get_embedding_dimension()
        check_widths(model.get_embedding_dimension(), teacher_dim)
        # Kept out of the module tree: the teacher is neither a training head nor part of the export.
        self.__dict__["teacher"] = teacher
        self.__dict__["teacher_rows"] = None  # (N, d) rows the labels index, see use_teacher_rows
        self.teacher_prefix = teacher_prefix
        self.distill_weight = distill_weight
        self.ranking_weight = ranking_weight
        self.center = center

    def use_teacher_rows(self, rows: np.ndarray) -> None:
        """Read the teacher's embeddings from ``rows`` (N, d), which integer labels index (the trainer's
        cache, memory-mapped: only each batch's rows are read)."""
        check_widths(self.model.get_embedding_dimension(), rows.shape[1])
        self.__dict__["teacher_rows"] = rows

    def teacher_embeddings(self, input_ids: Tensor) -> Tensor:
        """The teacher's embeddings of the sentences ``input_ids`` (the student's pieces) spell."""
        if self.teacher is None:
            raise ConfigError("the distillation loss got no teacher embeddings (labels) and no teacher")
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
        """The teacher's rows: the labels (embeddings, or row ids into ``teacher_rows``), or the teacher
        reading the English side once per batch."""
        batch = super().prepare(features, labels)
        if labels is not None and labels.ndim == 2:
            batch.rows["teacher"] = labels.float()
        elif labels is not None and self.teacher_rows is not None:
            rows = np.asarray(self.teacher_rows[labels.cpu().numpy()], dtype=np.float32)
            batch.rows["teacher"] = torch.from_numpy(rows).to(labels.device)
        else:
            batch.rows["teacher"] = self.teacher_embeddings(batch.features[1]["input_ids"])
        return batch

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        terms = distillation_terms(vectors["source"], vectors["target"], batch.rows["teacher"], self.center)
        losses = {name: self.distill_weight * value for name, value in terms.items()}
        ranking = super().batch_terms(batch, vectors, peers)["translation_ranking"]
        return {**losses, "translation_ranking": self.ranking_weight * ranking}

    def get_config_dict(self) -> dict[str, Any]:
        return {
            **super().get_config_dict(),
            "teacher_prefix": self.teacher_prefix,
            "distill_weight": self.distill_weight,
            "ranking_weight": self.ranking_weight,
            "center": self.center,
        }


def check_widths(student_dim: int, teacher_dim: int | None) -> None:
    """The student's embeddings must be as wide as the teacher's for D to compare them."""
    if teacher_dim is not None and student_dim != teacher_dim:
        raise ConfigError(
            f"the student's embeddings have {student_dim} dimensions and the teacher's {teacher_dim}: "
            f"distillation compares them directly, so build the student with width {teacher_dim} "
            "(interlingua student keeps the teacher's width; from scratch: --hidden "
            f"{teacher_dim}; a static student: leave --dims out)"
        )
