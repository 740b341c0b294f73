"""What a run trains: the model (a pretrained backbone, or a from-scratch encoder with a vocabulary
trained on the run's corpora), the optimiser and schedule, the callbacks, and the one place where
config keys become Hugging Face ``TrainingArguments``."""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
from tokenizers import Tokenizer
from torch.optim.lr_scheduler import LambdaLR
from transformers import AutoTokenizer

from interlingua.atomic import read_json, staged_folder, write_json
from interlingua.data.languages import TATOEBA112, parse_language_list
from interlingua.data.parallel import ParallelCorpus
from interlingua.errors import ConfigError
from interlingua.evaluation.evaluator import EVALUATORS, TaskEvaluator
from interlingua.losses.engine import SplitLoss
from interlingua.models.encoder import (
    EncoderConfig,
    build_scratch_encoder,
    load_pretrained_encoder,
    set_max_length,
)
from interlingua.models.tokenizer import save_tokenizer, tokenizer_from_corpora
from interlingua.training.callbacks import BudgetCallback, ProgressCallback
from interlingua.training.config import TrainConfig
from interlingua.training.data import TrainingData
from interlingua.training.distributed import negatives_line
from interlingua.training.precision import precision_line
from interlingua.training.schedule import RunClock, multiplier_function, progress_function

logger = logging.getLogger(__name__)

TOKENIZER = "tokenizer"
TOKENIZER_RECORD = "interlingua_tokenizer.json"
UNBOUNDED_STEPS = 10**9  # a budget-only run: the budget callback ends it


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --- the model ----------------------------------------------------------------------------------


def _tokenizer_record(config: TrainConfig, corpora: list[ParallelCorpus]) -> dict:
    """What a from-scratch vocabulary depends on: its settings and the corpora it is sampled from."""
    return {
        "vocab_size": config.vocab_size,
        "model": config.tokenizer_model,
        "lowercase": config.lowercase,
        "lines_per_language": config.tokenizer_lines_per_language,
        "max_length": config.max_length,
        "seed": config.seed,
        "corpora": [[c.name, c.src_lang, c.tgt_lang, len(c)] for c in corpora],
    }


def _saved_tokenizer(saved: Path, record: dict, resuming: bool):
    """The tokenizer a resumed run trained on, or None when it must be trained (again).

    A tokenizer left by a failed run, or by a run with other settings or data, is never reused:
    it would silently give another vocabulary than the config says.  A resumed run must use the
    one its checkpoints were trained with, so a different record there is an error."""
    if not saved.exists():
        return None
    found = read_json(saved / TOKENIZER_RECORD)
    if found == record or (resuming and found is None):  # None: saved before records were kept
        return AutoTokenizer.from_pretrained(str(saved))
    if resuming:
        raise ConfigError(
            f"{saved} was trained with other tokenizer settings or data than this config: "
            "resume with the run's own config, or start a new run with another --output"
        )
    logger.warning("%s: left by an earlier run with other settings; training a new one", saved)
    return None


def _tokenizer_for(config: TrainConfig, corpora: list[ParallelCorpus], output: Path, resuming: bool):
    """A from-scratch run trains its vocabulary once and reuses it when resumed; it is saved with
    the record of its settings to a staging folder and renamed, so that a run killed mid-save does
    not leave half a tokenizer."""
    saved = output / TOKENIZER
    record = _tokenizer_record(config, corpora)
    tokenizer = _saved_tokenizer(saved, record, resuming)
    if tokenizer is not None:
        return tokenizer
    tokenizer = tokenizer_from_corpora(
        corpora,
        lines_per_language=config.tokenizer_lines_per_language,
        seed=config.seed,
        vocab_size=config.vocab_size,
        model=config.tokenizer_model,
        lowercase=config.lowercase,
        max_length=config.max_length,
    )
    shutil.rmtree(saved, ignore_errors=True)
    with staged_folder(saved) as staging:
        save_tokenizer(tokenizer, staging)
        write_json(staging / TOKENIZER_RECORD, record)
    return tokenizer


def _require_vocabulary(model: SentenceTransformer, source: str) -> None:
    """A model folder without tokenizer files still loads, with a vocabulary of special tokens only
    (every word becomes unknown): refuse it rather than train on nothing."""
    tokenizer = model.tokenizer
    if isinstance(tokenizer, Tokenizer):  # a static model's: its pieces are its embedding rows
        return
    if tokenizer is None or len(tokenizer) <= len(set(tokenizer.all_special_ids)):
        raise ConfigError(
            f"{source}: the model has no tokenizer (no vocabulary beyond special tokens); "
            "save its tokenizer into the model folder (tokenizer.save_pretrained(FOLDER))"
        )


def build_model(
    config: TrainConfig, corpora: list[ParallelCorpus], output: Path, *, resuming: bool = False
) -> SentenceTransformer:
    """The encoder to train: ``pretrained``, or a from-scratch one over a vocabulary of ``corpora``."""
    if config.pretrained:
        # At its own length (its pretrained positions): train() truncates the training pairs at
        # max_length and saves the model with this length back.
        model = load_pretrained_encoder(config.pretrained, pooling=config.pooling)
        _require_vocabulary(model, config.pretrained)
        return model
    encoder_config = EncoderConfig(
        layers=config.layers,
        hidden=config.hidden,
        heads=config.heads,
        ffn=config.ffn,
        activation=config.activation,
        dropout=config.dropout,
        max_length=config.max_length,
        pooling=config.pooling,
        max_positions=config.max_positions,
    )
    return build_scratch_encoder(_tokenizer_for(config, corpora, output, resuming), encoder_config)


def prepare_for_training(model: SentenceTransformer, config: TrainConfig) -> int:
    """Set ``model`` to train at ``max_length``; returns the length it encodes at when saved (a
    backbone's pretrained positions, a scratch encoder's ``max_length``)."""
    # The model card is written by write_summary, so the widget examples sentence-transformers
    # samples from the data (behind a progress bar) are never shown: a widget already set skips it.
    model.model_card_data.widget = [{"text": "interlingua"}]
    encode_length = model.max_seq_length or config.max_length
    set_max_length(model, min(config.max_length, encode_length))
    return encode_length


def tatoeba_languages(config: TrainConfig, trained: Sequence[str] = ()) -> list[str]:
    """The languages to score: ``eval_langs``, else the trained ones that have a Tatoeba test set
    (``langs``, and ``trained`` with ``pairs``; a streaming run without ``langs``: its shard index's)."""
    if config.eval_langs is not None:
        return [language.code for language in parse_language_list(config.eval_langs)]
    codes = [*config.langs, *trained] if config.pairs else config.langs or list(trained)
    if not codes:
        return []
    return [language.code for language in parse_language_list(codes) if language.code in TATOEBA112]


def training_evaluator(config: TrainConfig, corpora: list[ParallelCorpus]) -> TaskEvaluator | None:
    """What ``--eval-every`` scores during training, on the languages scored after it (None: off).
    Each process of a multi-process run scores it (the Trainer evaluates on all of them)."""
    if config.eval_every is None:
        return None
    languages = tatoeba_languages(config, sorted({corpus.src_lang for corpus in corpora}))
    if not languages:
        raise ConfigError("--eval-every: none of the trained languages has a test set: pass --eval-langs")
    return EVALUATORS[config.eval_set](config.data_root, languages)


# --- how it trains ------------------------------------------------------------------------------


def optimizer_and_schedule(
    model: SentenceTransformer, loss: SplitLoss, config: TrainConfig, clock: RunClock
) -> tuple[torch.optim.Optimizer, LambdaLR]:
    """AdamW over the encoder and the loss's training-only heads, and the learning-rate schedule."""
    parameters = {id(p): p for p in [*model.parameters(), *loss.parameters()] if p.requires_grad}
    # fused: one kernel per parameter for the whole update.  On a CPU torch's default (a loop over
    # tensors) took 4x as long for the Lightweight model's 22M parameters (docs/benchmarks.md).
    optimizer = torch.optim.AdamW(
        list(parameters.values()),
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        amsgrad=config.amsgrad,
        fused=True,
    )
    budget = config.budget_seconds()
    progress = progress_function(config.max_steps, budget, clock)
    multiplier = multiplier_function(config.warmup, config.schedule, progress, config.max_steps, budget)
    return optimizer, LambdaLR(optimizer, multiplier)


def training_arguments(
    config: TrainConfig, checkpoints: Path, data: TrainingData, processes: int
) -> SentenceTransformerTrainingArguments:
    """The config as Hugging Face ``TrainingArguments`` (the only place they are written)."""
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=config.batch_size,
        max_steps=config.max_steps or UNBOUNDED_STEPS,
        **data.arguments,
        bf16=config.bf16,
        use_cpu=not torch.cuda.is_available(),
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=config.checkpoint_every,
        logging_steps=config.log_every,
        report_to="none",
        disable_tqdm=True,
        dataloader_drop_last=True,
        eval_strategy="no" if config.eval_every is None else "steps",
        eval_steps=config.eval_every,
    )
    if data.split and processes > 1:
        # batch_size is the batch of one step: each of N processes gets batch_size / N of its pairs.
        args.accelerator_config.split_batches = True
    return args


def run_callbacks(
    config: TrainConfig, clock: RunClock, negatives: dict[str, Any], output: Path
) -> tuple[BudgetCallback, ProgressCallback]:
    """The budget that ends the run and the progress bar and log (``train_log.jsonl``)."""
    pairs_per_step = negatives["processes"] * negatives["pairs_per_process"]
    budget = BudgetCallback(clock, config.budget_seconds())
    cpu = not torch.cuda.is_available()
    progress = ProgressCallback(
        clock,
        pairs_per_step,
        config.max_steps,
        config.budget_seconds(),
        output / "train_log.jsonl",
        header=negatives_line(negatives) + "\n" + precision_line(config.bf16, cpu),
    )
    return budget, progress
