"""Evaluation tasks as sentence-transformers evaluators: ``SentenceTransformerTrainer(evaluator=...)``
scores the model on them during training (``interlingua train --eval-every N``), and
``evaluator(model)`` scores any model after.

One small protocol for every task: the test sets are read once, when the evaluator is made; a call
encodes them with the model and returns ``{"<task>_average": ..., "<task>_<language>": ...}``, the
average being the primary metric."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from interlingua.evaluation.flores import FloresData, load_flores, score_flores
from interlingua.evaluation.tatoeba import TatoebaData, load_tatoeba, score_tatoeba
from interlingua.models.encode import SentenceEncoder, SentenceTransformerEncoder


class TaskEvaluator(SentenceEvaluator, ABC):
    """A task's score of a model, per language and on average (subclasses: the task).

    ``data_root`` defaults to ``$INTERLINGUA_DATA``; ``languages`` takes codes or named sets
    (``"deu,fra"``, ``"xtreme36"``)."""

    task: ClassVar[str]
    higher_is_better: ClassVar[bool] = True

    def __init__(
        self,
        data_root: str | Path | None = None,
        languages: str | Sequence[str] | None = None,
        *,
        batch_size: int = 128,
    ) -> None:
        super().__init__()
        self.data = self.load(data_root, languages)
        self.batch_size = batch_size
        self.greater_is_better = self.higher_is_better
        self.primary_metric = "average"

    @abstractmethod
    def load(self, data_root: str | Path | None, languages: str | Sequence[str] | None) -> Any:
        """The task's test sets."""

    @abstractmethod
    def scores(self, encoder: SentenceEncoder) -> dict[str, float]:
        """``{"average": ..., language: ...}`` of ``encoder`` on the test sets."""

    def __call__(
        self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        encoder = SentenceTransformerEncoder(model, name=self.task, batch_size=self.batch_size)
        metrics = self.prefix_name_to_metrics(self.scores(encoder), self.task)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics


class TatoebaEvaluator(TaskEvaluator):
    """Tatoeba accuracy (%, mean of both directions, cosine retrieval)."""

    task = "tatoeba"

    def load(self, data_root: str | Path | None, languages: str | Sequence[str] | None) -> TatoebaData:
        return load_tatoeba(data_root, languages)

    def scores(self, encoder: SentenceEncoder) -> dict[str, float]:
        result = score_tatoeba(encoder, self.data)
        return {"average": result.average, **{code: s.average for code, s in result.per_language.items()}}


class FloresEvaluator(TaskEvaluator):
    """FLORES-200 devtest xSIM error rate (%, xx -> English, cosine retrieval): lower is better."""

    task = "flores"
    higher_is_better = False

    def load(self, data_root: str | Path | None, languages: str | Sequence[str] | None) -> FloresData:
        return load_flores(data_root, languages)

    def scores(self, encoder: SentenceEncoder) -> dict[str, float]:
        result = score_flores(encoder, self.data)
        return {"average": result.average, **result.error_rates}


# The evaluation sets ``interlingua train --eval-set`` names.
EVALUATORS: dict[str, type[TaskEvaluator]] = {"tatoeba": TatoebaEvaluator, "flores": FloresEvaluator}
