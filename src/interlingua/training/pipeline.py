"""The job behind ``interlingua train``: train, score Tatoeba on the trained languages, report.

After training, the model is scored on the Tatoeba test sets of ``eval_langs`` (default: every
trained language that has one); the table is printed, ``tatoeba_results.json`` is written next
to the model, and the averages go into the model card and ``training_summary.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from interlingua.data.corpora import DATA_ROOT_ENV, resolve_data_root
from interlingua.errors import ConfigError
from interlingua.evaluation.report import write_json
from interlingua.evaluation.tatoeba import TatoebaResult, evaluate_tatoeba
from interlingua.models.encode import SentenceTransformerEncoder
from interlingua.training.config import TrainConfig
from interlingua.training.distributed import process_state
from interlingua.training.setup import tatoeba_languages
from interlingua.training.summary import TrainingRun, write_summary
from interlingua.training.trainer import train

logger = logging.getLogger(__name__)


def evaluation_root(config: TrainConfig) -> Path | None:
    """The data root of the Tatoeba scoring, found before training: a run on the user's own files
    (``pairs``) with no data root skips the scoring, instead of failing once the work is done."""
    try:
        return resolve_data_root(config.data_root)
    except ConfigError:
        if config.langs or config.eval_langs:
            raise
        logger.warning("no data root (--data-root or $%s): the model will not be scored", DATA_ROOT_ENV)
        return None


def evaluate_run(config: TrainConfig, run: TrainingRun, model, data_root: Path) -> TatoebaResult | None:
    languages = tatoeba_languages(config, sorted({corpus["src_lang"] for corpus in run.corpora}))
    if not languages:
        logger.warning("none of the trained languages has a Tatoeba test set: skipping the evaluation")
        return None
    encoder = SentenceTransformerEncoder(model, name=str(run.output), batch_size=256)
    result = evaluate_tatoeba(encoder, data_root, languages)
    write_json(result.to_json(), Path(run.output) / "tatoeba_results.json")
    return result


def train_and_evaluate(config: TrainConfig) -> TatoebaResult | None:
    """Train as configured, then score and report; returns the Tatoeba result (None if skipped).

    In a multi-process run the main process alone scores and reports; the others return None."""
    data_root = evaluation_root(config)
    run, model = train(config)
    if not process_state().is_main_process:
        return None
    result = evaluate_run(config, run, model, data_root) if data_root is not None else None
    write_summary(config, run, result.summary() if result else None)
    if result:
        print(result.to_table())
    print(f"model saved to {run.output}")
    return result
