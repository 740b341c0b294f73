"""A training run from a ``TrainConfig``: corpora -> tokenizer -> encoder -> objective -> Trainer.

The work is sentence-transformers' ``SentenceTransformerTrainer`` (itself the Hugging Face
Trainer), so multi-process training comes from ``torchrun`` / ``accelerate launch`` and
checkpoints, resume and logging behave as users of those tools expect (what DDP leaves to this
toolkit, such as the training heads' gradients, is in ``training/distributed.py``).  What this module adds:
the corpus mix (temperature sampling, length-bucketed batches), the wall-clock budget with a
schedule that fits it, the progress bar, and a final folder that ``SentenceTransformer(path)``
loads, with a model card and ``training_summary.json``.

Nothing lost (docs/robustness.md): checkpoints are atomic and verified before a resume, and a
step-bounded run resumed with ``--resume`` after a crash at any point ends with the same weights,
bit for bit on CPU, as a run that was never interrupted: the weights, training-only heads,
optimizer, scheduler, RNG states and the sampler's position (a pure function of seed, epoch and
step) all come back.  A run bounded by ``--budget`` schedules its learning rate by wall-clock time,
so it resumes where it was but is not bit-reproducible.  A NaN or infinite loss stops the run, or
skips the batch (``on_nonfinite``), before it reaches the weights.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from safetensors.torch import load_file, save_file
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
from tokenizers import Tokenizer
from torch.optim.lr_scheduler import LambdaLR
from transformers import AutoTokenizer, PrinterCallback
from transformers import ProgressCallback as HFProgressCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import ExportableState

from interlingua.atomic import (
    STORAGE_ERRNOS,
    check_output_folder,
    read_json,
    staged_folder,
    write_json,
)
from interlingua.data.corpora import load_training_corpora, resolve_data_root
from interlingua.data.languages import parse_language_list
from interlingua.data.parallel import ParallelCorpus, find_user_pairs
from interlingua.data.sampling import TemperatureBucketBatchSampler
from interlingua.data.streaming import ShardIndex, StreamingPairs, check_languages, sample_corpora
from interlingua.errors import ConfigError, StorageError
from interlingua.models.encoder import (
    EncoderConfig,
    build_scratch_encoder,
    load_pretrained_encoder,
    set_max_length,
)
from interlingua.models.tokenizer import balanced_sample, save_tokenizer, train_tokenizer
from interlingua.training.callbacks import (
    BudgetCallback,
    CheckpointedCallback,
    ProgressCallback,
    SeededDataLoaderCallback,
    read_clock,
)
from interlingua.training.checkpoints import (
    checkpoint_folders,
    checkpoint_writer,
    latest_valid_checkpoint,
    remove_unfinished_saves,
    rotate_checkpoints,
    staging_folder,
    step_of,
)
from interlingua.training.config import TrainConfig, save_config
from interlingua.training.distributed import (
    any_process,
    average_head_gradients,
    broadcast_heads,
    negatives_line,
    negatives_summary,
    process_state,
)
from interlingua.training.guard import BATCH_TEXTS, BatchTextCollator, NonFiniteGuard
from interlingua.training.objectives import (
    build_objective,
    needs_language_ids,
    row_labels,
    training_languages,
)
from interlingua.training.precision import precision_line
from interlingua.training.schedule import CLOCKS, RunClock, multiplier_function, progress_function
from interlingua.training.summary import TrainingRun, corpus_records

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
KEEP_CHECKPOINTS = 2  # the newest and the one before it, in case the newest turns out unreadable
HEADS_FILE = "training_heads.safetensors"
TOKENIZER = "tokenizer"
TOKENIZER_RECORD = "interlingua_tokenizer.json"
# Files of a finished model folder: writing a new run over them would lose that model.
MODEL_FILES = ("modules.json", "model.safetensors", "config_sentence_transformers.json")
UNBOUNDED_STEPS = 10**9  # a budget-only run: the budget callback ends it


class InterlinguaTrainer(SentenceTransformerTrainer):
    """The sentence-transformers Trainer, with checkpoints that resume exactly and a guarded loss.

    * Training-only heads (XTR, RTL, projection, MLM) live on the loss module, which the stock
      Trainer neither saves nor restores; they are kept in ``training_heads.safetensors`` beside the
      model weights, and the exported model stays a plain encoder.
    * Checkpoints are atomic (``training/checkpoints.py``): written to a staging folder with the
      optimizer, scheduler, RNG states, trainer state and each ``CheckpointedCallback``'s state,
      sealed with a manifest, then renamed; only the ``KEEP_CHECKPOINTS`` newest are kept.
    * Each step's loss passes ``guard`` (``training/guard.py``) before the optimiser step.
    """

    data_collator_class = BatchTextCollator

    def __init__(self, *args, guard: NonFiniteGuard | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.guard = guard or NonFiniteGuard("stop", Path(self.args.output_dir))
        broadcast_heads(self.loss)  # DDP broadcasts the encoder; the heads live outside it

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        super()._save(output_dir, state_dict)
        heads = self.loss.head_state()
        if heads:
            save_file(
                {k: v.detach().contiguous().cpu() for k, v in heads.items()},
                str(Path(output_dir or self.args.output_dir) / HEADS_FILE),
            )

    def _load_from_checkpoint(self, checkpoint_path: str, *args, **kwargs) -> None:
        super()._load_from_checkpoint(checkpoint_path, *args, **kwargs)
        heads_path = Path(checkpoint_path) / HEADS_FILE
        if heads_path.exists():
            self.loss.load_head_state(load_file(str(heads_path)), str(heads_path))

    def _save_checkpoint(self, model, trial) -> None:
        """Everything a resume needs, written atomically (the stock method writes in place).

        In a multi-process run every process writes its own RNG state into the staging folder,
        between two barriers; the main process alone creates, seals, renames and rotates.
        """
        root = Path(self._get_output_dir(trial=trial))
        step = self.state.global_step
        self.store_flos()
        if not self.args.should_save:
            self.accelerator.wait_for_everyone()
            self._write_checkpoint(staging_folder(root, step))
            self.accelerator.wait_for_everyone()
            return
        with checkpoint_writer(root, step) as staging:
            self.accelerator.wait_for_everyone()
            self._write_checkpoint(staging)
            self.accelerator.wait_for_everyone()
        rotate_checkpoints(root, newest=step, keep=KEEP_CHECKPOINTS)

    def _write_checkpoint(self, folder: Path) -> None:
        self.save_model(str(folder), _internal_call=True)
        self._save_optimizer_and_scheduler(str(folder))
        self._save_scaler(str(folder))
        self._save_rng_state(str(folder))
        if not self.args.should_save:
            return
        for callback in self.callback_handler.callbacks:
            if isinstance(callback, CheckpointedCallback):
                callback.write_state(folder)
        # As the stock method does: the state of ExportableState callbacks goes into the trainer state.
        for exportable in [*self.callback_handler.callbacks, self.control]:
            if isinstance(exportable, ExportableState):
                name = type(exportable).__name__
                if isinstance(self.state.stateful_callbacks.get(name), list):
                    self.state.stateful_callbacks[name].append(exportable.state())
                else:
                    self.state.stateful_callbacks[name] = exportable.state()
        self.state.save_to_json(str(folder / TRAINER_STATE_NAME))

    def training_step(self, model, inputs, num_items_in_batch=None):
        """The stock step (forward, backward), then the guard; a skipped batch leaves no gradient.

        In a multi-process run all processes stop or skip together when any one's loss is not
        finite, and the heads' gradients are averaged as DDP averages the encoder's."""
        texts = inputs.pop(BATCH_TEXTS, None)
        loss = super().training_step(model, inputs, num_items_in_batch)
        checked = loss
        if any_process(not bool(torch.isfinite(loss).all()), loss.device) and torch.isfinite(loss).all():
            checked = torch.full_like(loss, float("nan"))  # another process's loss is not finite
        if not self.guard.admits(checked, self.state.global_step + 1, texts):
            self.optimizer.zero_grad(set_to_none=True)
        elif self.accelerator.sync_gradients:
            average_head_gradients(self.loss)
        return loss


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


def streaming_dataset(
    config: TrainConfig, index: ShardIndex, corpora: list[ParallelCorpus], resume_from: Path | None
) -> tuple[StreamingPairs, dict, list]:
    """The stream of ``index`` from where ``resume_from`` was, the Trainer arguments and callbacks
    it needs: the Trainer would skip the batches already trained on by reading and collating them
    again, each process reads its own part of the stream (accelerate calls ``dataset.shard``), and
    its DataLoader must not draw from the global RNG (``SeededDataLoaderCallback``)."""
    labels = None
    if needs_language_ids(config):
        ids = {code: i for i, code in enumerate(training_languages(config))}
        labels = [ids[corpus.src_lang] for corpus in corpora]
    dataset = StreamingPairs(
        index,
        seed=config.seed,
        buffer_size=config.shuffle_buffer,
        batch_size=config.batch_size,
        start_batches=step_of(resume_from) if resume_from else 0,  # one batch a step (no accumulation)
        corpus_labels=labels,
    )
    arguments = {"ignore_data_skip": True, "accelerator_config": {"dispatch_batches": False}}
    return dataset, arguments, [SeededDataLoaderCallback(config.seed)]


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
    texts: dict[str, list[str]] = {}
    for corpus in corpora:
        texts.setdefault(corpus.src_lang, []).extend(corpus.src)
        texts.setdefault(corpus.tgt_lang, []).extend(corpus.tgt)
    languages = sorted(texts)
    tokenizer = train_tokenizer(
        balanced_sample(texts, config.tokenizer_lines_per_language, seed=config.seed),
        vocab_size=config.vocab_size,
        model=config.tokenizer_model,
        lowercase=config.lowercase,
        languages=languages,
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


def piece_lengths(tokenizer, sentences: list[str], max_length: int) -> np.ndarray:
    if isinstance(tokenizer, Tokenizer):  # a static model's: no special tokens, no truncation
        encoded = tokenizer.encode_batch(sentences, add_special_tokens=False)
        return np.fromiter((len(e.ids) for e in encoded), dtype=np.int32, count=len(sentences))
    encoded = tokenizer(sentences, add_special_tokens=True, truncation=True, max_length=max_length)[
        "input_ids"
    ]
    return np.fromiter((len(ids) for ids in encoded), dtype=np.int32, count=len(sentences))


def _optimizer_and_schedule(model, loss, config: TrainConfig, clock: RunClock, max_steps: int | None):
    # Training-only heads live on the loss module; they are optimised with the encoder.
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
    progress = progress_function(max_steps, budget, clock)
    multiplier = multiplier_function(config.warmup, config.schedule, progress, max_steps, budget)
    return optimizer, LambdaLR(optimizer, multiplier)


def _run_was_complete(checkpoint: Path, config: TrainConfig) -> bool:
    """Whether ``checkpoint`` ends the run: it holds the last step, or the budget was spent."""
    budget = config.budget_seconds()
    return (config.max_steps is not None and step_of(checkpoint) >= config.max_steps) or (
        budget is not None and read_clock(checkpoint) >= budget
    )


def _final_write_error(output: Path, error: BaseException) -> StorageError:
    return StorageError(
        f"cannot write in {output}: {error}; the checkpoints in {output / CHECKPOINTS} are intact: "
        "fix this and rerun with --resume"
    )


def _save_final_model(model: SentenceTransformer, config: TrainConfig, output: Path) -> None:
    """The model and the config that made it, written together once complete: a run that failed
    earlier leaves the folder's previous files (``train_config.yaml`` included) as they were."""
    try:
        with staged_folder(output) as staging:
            model.save(str(staging))
            save_config(config, staging / "train_config.yaml")
    except StorageError as error:
        raise _final_write_error(output, error.__cause__ or error) from error


def train(config: TrainConfig) -> tuple[TrainingRun, SentenceTransformer]:
    """Run a training job; returns what the run did and the trained model (also saved to ``output``)."""
    if not config.output:
        raise ConfigError("no output folder: pass --output DIR")
    if config.max_steps is None and config.budget is None:
        raise ConfigError("the run needs an end: pass --max-steps N and/or --budget 20m")
    if config.budget_clock not in CLOCKS:
        raise ConfigError(f"budget_clock must be {' or '.join(CLOCKS)}, not {config.budget_clock!r}")
    output = check_output_folder(config.output)
    checkpoints = output / CHECKPOINTS
    if not config.resume and any((output / name).exists() for name in MODEL_FILES):
        raise ConfigError(
            f"{output} holds a trained model: pass another --output (or --resume to finish its run)"
        )
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    guard = NonFiniteGuard(config.on_nonfinite, output)
    state = process_state()  # under torchrun / accelerate launch: one of several processes
    if state.is_main_process:
        remove_unfinished_saves(checkpoints)
    state.wait_for_everyone()
    if not config.resume and checkpoint_folders(checkpoints):
        raise ConfigError(
            f"{output} already holds checkpoints: pass --resume to continue, or another --output"
        )
    resume_from = latest_valid_checkpoint(checkpoints) if config.resume else None
    if config.resume and resume_from is None:
        logger.warning("--resume: no usable checkpoint in %s, starting from scratch", checkpoints)
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)

    shard_index, corpora = load_stream(config) if config.streaming else (None, load_corpora(config))
    with state.main_process_first():  # the main process trains (or downloads), the others load
        model = build_model(config, corpora, output, resuming=resume_from is not None)
    # write_summary writes the model card, so the widget examples sentence-transformers samples from
    # the data (behind a progress bar) are never shown: a widget already set skips the sampling.
    model.model_card_data.widget = [{"text": "interlingua"}]
    # Training truncates at max_length; the saved model encodes up to its own length (a backbone's
    # pretrained positions, a scratch encoder's max_length), set back before it is saved.
    encode_length = model.max_seq_length or config.max_length
    set_max_length(model, min(config.max_length, encode_length))
    if shard_index is not None:
        dataset, data_arguments, data_callbacks = streaming_dataset(config, shard_index, corpora, resume_from)
    else:
        sources = [s for corpus in corpora for s in corpus.src]
        targets = [t for corpus in corpora for t in corpus.tgt]
        dataset = Dataset.from_dict({"source": sources, "target": targets})
        lengths = np.maximum(
            piece_lengths(model.tokenizer, sources, config.max_length),
            piece_lengths(model.tokenizer, targets, config.max_length),
        )
        sampler = functools.partial(
            TemperatureBucketBatchSampler,
            corpus_sizes=[len(corpus) for corpus in corpora],
            lengths=lengths,
            temperature=config.sampling_temperature,
        )
        data_arguments, data_callbacks = {"batch_sampler": sampler}, []
    loss = build_objective(model, config, [t for corpus in corpora for t in corpus.tgt])
    labels = row_labels(loss, config, corpora) if shard_index is None else None
    if labels is not None:  # reaches the loss as ``labels``: a language id or a teacher row per pair
        dataset = dataset.add_column("label", labels)
    # In-memory batches of batch_size pairs are split over the processes; a stream gives each its own.
    split = shard_index is None
    processes = state.num_processes
    negatives = negatives_summary(loss, config.batch_size, processes, config.gather_negatives, split)
    pairs_per_step = negatives["processes"] * negatives["pairs_per_process"]
    clock = RunClock(read_clock(resume_from) if resume_from else 0.0, kind=config.budget_clock)
    optimizer, scheduler = _optimizer_and_schedule(model, loss, config, clock, config.max_steps)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=config.batch_size,
        max_steps=config.max_steps or UNBOUNDED_STEPS,
        **data_arguments,
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
    )
    if split and state.num_processes > 1:
        # batch_size is the batch of one step: each of N processes gets batch_size / N of its pairs.
        args.accelerator_config.split_batches = True
    budget = BudgetCallback(clock, config.budget_seconds())
    progress = ProgressCallback(
        clock,
        pairs_per_step,
        config.max_steps,
        config.budget_seconds(),
        output / "train_log.jsonl",
        header=negatives_line(negatives) + "\n" + precision_line(config.bf16, not torch.cuda.is_available()),
    )
    trainer = InterlinguaTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        loss=loss,
        optimizers=(optimizer, scheduler),
        callbacks=[budget, progress, *data_callbacks],
        guard=guard,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(HFProgressCallback)
    try:
        if resume_from is not None and _run_was_complete(resume_from, config):
            # Killed after its last checkpoint (while exporting or scoring): export that checkpoint.
            # The Trainer, resumed there, would train one step more.
            trainer._load_from_checkpoint(str(resume_from))
            steps = step_of(resume_from)
            budget.stopped_by_budget = config.max_steps is None or steps < config.max_steps
        else:
            trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
            steps = trainer.state.global_step
    except OSError as error:  # writing a log line; checkpoints raise StorageError
        if error.errno not in STORAGE_ERRNOS:
            raise
        raise _final_write_error(output, error) from error
    set_max_length(model, encode_length)
    if state.is_main_process:
        _save_final_model(model, config, output)
    run = TrainingRun(
        output=output,
        steps=steps,
        seconds=clock.elapsed(),  # includes the time before a resume (the clock is in checkpoints)
        pairs_seen=steps * pairs_per_step,
        stopped_by_budget=budget.stopped_by_budget,
        negatives=negatives,
        corpora=corpus_records(corpora),
    )
    return run, model
