"""Tatoeba as a sentence-transformers evaluator: ``SentenceTransformerTrainer(evaluator=...)`` scores
the model on it during training, and ``evaluator(model)`` scores any model after."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from interlingua.evaluation.tatoeba import load_tatoeba, score_tatoeba
from interlingua.models.encode import SentenceTransformerEncoder


class TatoebaEvaluator(SentenceEvaluator):
    """Tatoeba accuracy (%, mean of both directions, cosine retrieval) of a model, per language and
    on average; the test sets are read once, when the evaluator is made.

    ``data_root`` defaults to ``$INTERLINGUA_DATA``; ``languages`` takes codes or named sets
    (``"deu,fra"``, ``"xtreme36"``).  The primary metric is ``tatoeba_average``."""

    def __init__(
        self,
        data_root: str | Path | None = None,
        languages: str | Sequence[str] | None = None,
        *,
        batch_size: int = 128,
        name: str = "tatoeba",
    ) -> None:
        super().__init__()
        self.data = load_tatoeba(data_root, languages)
        self.batch_size = batch_size
        self.name = name
        self.primary_metric = "average"

    def __call__(
        self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        encoder = SentenceTransformerEncoder(model, name=self.name, batch_size=self.batch_size)
        result = score_tatoeba(encoder, self.data)
        metrics = {"average": result.average}
        metrics.update({code: score.average for code, score in result.per_language.items()})
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics
