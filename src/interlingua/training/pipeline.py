"""The job behind ``interlingua train``: train, score Tatoeba on the trained languages, report.

After training, the model is scored on the Tatoeba test sets of ``eval_langs`` (default: every
trained language that has one); the table is printed, ``tatoeba_results.json`` is written next
to the model, and the averages go into the model card and ``training_summary.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from interlingua.data.languages import TATOEBA112, parse_language_list
from interlingua.evaluation.report import write_json
from interlingua.evaluation.tatoeba import TatoebaResult, evaluate_tatoeba
from interlingua.models.encode import SentenceTransformerEncoder
from interlingua.training.config import TrainConfig
from interlingua.training.distributed import process_state
from interlingua.training.trainer import TrainingRun, train, write_summary

logger = logging.getLogger(__name__)


def tatoeba_languages(config: TrainConfig, trained: Sequence[str] = ()) -> list[str]:
    """The languages to score: ``eval_langs``, else the trained ones that have a Tatoeba test set
    (``langs``, or ``trained`` without them: a streaming run trains on its shard index's)."""
    if config.eval_langs is not None:
        return [language.code for language in parse_language_list(config.eval_langs)]
    codes = config.langs or list(trained)
    if not codes:
        return []
    return [language.code for language in parse_language_list(codes) if language.code in TATOEBA112]


def evaluate_run(config: TrainConfig, run: TrainingRun, model) -> TatoebaResult | None:
    languages = tatoeba_languages(config, sorted({corpus["src_lang"] for corpus in run.corpora}))
    if not languages:
        logger.warning("none of the trained languages has a Tatoeba test set: skipping the evaluation")
        return None
    encoder = SentenceTransformerEncoder(model, name=str(run.output), batch_size=256)
    result = evaluate_tatoeba(encoder, config.data_root, languages)
    write_json(result.to_json(), Path(run.output) / "tatoeba_results.json")
    return result


def train_and_evaluate(config: TrainConfig) -> TatoebaResult | None:
    """Train as configured, then score and report; returns the Tatoeba result (None if skipped).

    In a multi-process run the main process alone scores and reports; the others return None."""
    run, model = train(config)
    if not process_state().is_main_process:
        return None
    result = evaluate_run(config, run, model)
    write_summary(config, run, result.summary() if result else None)
    if result:
        print(result.to_table())
    print(f"model saved to {run.output}")
    return result
