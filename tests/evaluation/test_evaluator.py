"""Tasks as sentence-transformers evaluators: one protocol (``evaluator(model) -> metrics``, a
primary metric, which way is better), the same numbers as the task's own scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from sentence_transformers import SentenceTransformer

from interlingua.evaluation.evaluator import EVALUATORS, FloresEvaluator, TatoebaEvaluator
from interlingua.evaluation.flores import evaluate_flores
from interlingua.evaluation.tatoeba import evaluate_tatoeba
from interlingua.models.encode import SentenceTransformerEncoder


@pytest.mark.parametrize(
    ("evaluator", "evaluate", "higher_is_better", "french"),
    [
        (TatoebaEvaluator, evaluate_tatoeba, True, "fra"),
        (FloresEvaluator, evaluate_flores, False, "fra_Latn"),
    ],
)
def test_an_evaluator_scores_as_its_task(
    evaluator, evaluate, higher_is_better: bool, french: str, tiny_model: Path, data_root: Path
) -> None:
    model = SentenceTransformer(str(tiny_model), device="cpu")
    task = evaluator(data_root, "fra")
    metrics = task(model)
    expected = evaluate(SentenceTransformerEncoder(model, name="tiny"), data_root, "fra").average
    assert task.primary_metric == f"{task.task}_average" and task.greater_is_better is higher_is_better
    assert metrics[task.primary_metric] == pytest.approx(expected)
    assert set(metrics) == {
        f"{task.task}_average",
        f"{task.task}_{'fra' if task.task == 'tatoeba' else 'fra_Latn'}",
    }
    assert EVALUATORS[task.task] is evaluator
