"""What a run trains on: corpora -> a dataset (in memory) or a stream (shards), the label each row
gives the loss, and the batch sampler that mixes the corpora.

In memory, the corpora are concatenated and ``TemperatureBucketBatchSampler`` draws each batch from
one corpus (temperature sampling) and of sentences of similar length.  A stream
(``data/streaming.py``) reads every pair of its shard index once an epoch, each process its own
part, and resumes at the batch a checkpoint was written after.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from tokenizers import Tokenizer

from interlingua.data.corpora import load_training_corpora, resolve_data_root
from interlingua.data.languages import parse_language_list
from interlingua.data.parallel import ParallelCorpus, find_user_pairs
from interlingua.data.sampling import TemperatureBucketBatchSampler
from interlingua.data.streaming import ShardIndex, StreamingPairs, check_languages, sample_corpora
from interlingua.errors import ConfigError
from interlingua.losses.distillation import DistillationLoss, check_widths
from interlingua.losses.engine import SplitLoss
from interlingua.models.teacher_cache import rows_for, teacher_embeddings, teacher_width
from interlingua.training.callbacks import SeededDataLoaderCallback
from interlingua.training.checkpoints import step_of
from interlingua.training.config import TrainConfig
from interlingua.training.objectives import needs_language_ids, training_languages


@dataclass
class TrainingData:
    """The dataset of a run and what the Trainer needs to read it."""

    dataset: Dataset | StreamingPairs
    arguments: dict[str, Any]  # TrainingArguments keys: the batch sampler, or how a stream is read
    callbacks: list = field(default_factory=list)
    # In-memory batches of batch_size pairs are split over the processes; a stream gives each its own.
    split: bool = True


def _select_pairs(corpus: ParallelCorpus, cap: int | None, seed: int) -> ParallelCorpus:
    if cap is None or len(corpus) <= cap:
        return corpus
    keep = np.sort(np.random.default_rng(seed).choice(len(corpus), cap, replace=False))
    return dataclasses.replace(corpus, src=[corpus.src[i] for i in keep], tgt=[corpus.tgt[i] for i in keep])


def load_corpora(config: TrainConfig) -> list[ParallelCorpus]:
    """The user's ``pairs`` and the shared corpora of ``langs``, each capped at
    ``max_pairs_per_language``."""
    if not config.langs and not config.pairs:
        raise ConfigError("no training data: pass --langs (e.g. --langs deu,fra,spa) and/or --pairs PATH")
    corpora = [files.read() for path in config.pairs for files in find_user_pairs(path, pivot=config.pivot)]
    if config.langs:
        languages = [language.code for language in parse_language_list(config.langs)]
        corpora += load_training_corpora(
            resolve_data_root(config.data_root), languages, corpora=config.corpora, pivot=config.pivot
        )
    return [_select_pairs(corpus, config.max_pairs_per_language, config.seed) for corpus in corpora]


def load_stream(config: TrainConfig) -> tuple[ShardIndex, list[ParallelCorpus]]:
    """The shard index of ``config.streaming`` and its corpora, each holding the sample drawn when
    sharding (a from-scratch vocabulary is trained on it).  A stream reads every pair of its index
    once an epoch, so the keys that choose or weight in-memory corpora cannot apply."""
    if config.sampling_temperature != 1.0 or config.max_pairs_per_language is not None:
        raise ConfigError(
            "streaming reads every pair of the shard index once an epoch: set sampling_temperature to 1 "
            "and leave max_pairs_per_language out (shard the pairs to train on instead)"
        )
    index = ShardIndex.load(config.streaming)
    if config.langs:
        check_languages(index, [language.code for language in parse_language_list(config.langs)])
    elif needs_language_ids(config):
        raise ConfigError(f"objective {config.objective} needs --langs: the languages of {index.path}")
    return index, list(sample_corpora(index))


def language_labels(config: TrainConfig, corpora: list[ParallelCorpus]) -> list[int]:
    """Each corpus's source language as its index in :func:`training_languages` (the pivot is 0)."""
    index = {code: i for i, code in enumerate(training_languages(config))}
    return [index[corpus.src_lang] for corpus in corpora]


def row_labels(loss: SplitLoss, config: TrainConfig, corpora: list[ParallelCorpus]) -> list[int] | None:
    """What reaches the loss as ``labels``, one per training pair: its language's index (EMS's XTR
    head), or its row of the teacher's embeddings, which this computes once per distinct English
    sentence or reads from the cache (distillation); None when the objective reads no label."""
    if needs_language_ids(config):
        labels = language_labels(config, corpora)
        return [label for label, corpus in zip(labels, corpora, strict=True) for _ in range(len(corpus))]
    if isinstance(loss, DistillationLoss):
        # Before the teacher encodes anything: a student of another width cannot be compared with it.
        check_widths(loss.model.get_embedding_dimension(), teacher_width(config.teacher))
        distinct, rows = rows_for([sentence for corpus in corpora for sentence in corpus.tgt])
        matrix, _ = teacher_embeddings(
            config.teacher, distinct, prefix=config.teacher_prefix, cache_root=config.teacher_cache
        )
        loss.use_teacher_rows(matrix)
        return rows.tolist()
    return None


def piece_lengths(tokenizer, sentences: list[str], max_length: int) -> np.ndarray:
    """Each sentence's length in pieces, as the model will see it (truncated at ``max_length``)."""
    if isinstance(tokenizer, Tokenizer):  # a static model's: no special tokens, no truncation
        encoded = tokenizer.encode_batch(sentences, add_special_tokens=False)
        return np.fromiter((len(e.ids) for e in encoded), dtype=np.int32, count=len(sentences))
    encoded = tokenizer(sentences, add_special_tokens=True, truncation=True, max_length=max_length)[
        "input_ids"
    ]
    return np.fromiter((len(ids) for ids in encoded), dtype=np.int32, count=len(sentences))


def in_memory_data(
    config: TrainConfig, tokenizer, loss: SplitLoss, corpora: list[ParallelCorpus]
) -> TrainingData:
    """The corpora as one dataset, with the length-bucketed temperature sampler over them."""
    sources = [s for corpus in corpora for s in corpus.src]
    targets = [t for corpus in corpora for t in corpus.tgt]
    dataset = Dataset.from_dict({"source": sources, "target": targets})
    lengths = np.maximum(
        piece_lengths(tokenizer, sources, config.max_length),
        piece_lengths(tokenizer, targets, config.max_length),
    )
    sampler = functools.partial(
        TemperatureBucketBatchSampler,
        corpus_sizes=[len(corpus) for corpus in corpora],
        lengths=lengths,
        temperature=config.sampling_temperature,
    )
    labels = row_labels(loss, config, corpora)
    if labels is not None:  # reaches the loss as ``labels``: a language id or a teacher row per pair
        dataset = dataset.add_column("label", labels)
    return TrainingData(dataset, {"batch_sampler": sampler})


def streaming_data(
    config: TrainConfig, index: ShardIndex, corpora: list[ParallelCorpus], resume_from: Path | None
) -> TrainingData:
    """The stream of ``index`` from where ``resume_from`` was, and the Trainer arguments and
    callbacks it needs: the Trainer would skip the batches already trained on by reading and
    collating them again, each process reads its own part of the stream (accelerate calls
    ``dataset.shard``), and its DataLoader must not draw from the global RNG
    (``SeededDataLoaderCallback``)."""
    dataset = StreamingPairs(
        index,
        seed=config.seed,
        buffer_size=config.shuffle_buffer,
        batch_size=config.batch_size,
        start_batches=step_of(resume_from) if resume_from else 0,  # one batch a step (no accumulation)
        corpus_labels=language_labels(config, corpora) if needs_language_ids(config) else None,
    )
    arguments = {"ignore_data_skip": True, "accelerator_config": {"dispatch_batches": False}}
    return TrainingData(dataset, arguments, [SeededDataLoaderCallback(config.seed)], split=False)
