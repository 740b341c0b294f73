"""A training run from a ``TrainConfig``: corpora -> tokenizer -> encoder -> objective -> Trainer.

The work is sentence-transformers' ``SentenceTransformerTrainer`` (itself the Hugging Face
Trainer), so multi-process training comes from ``torchrun`` / ``accelerate launch`` and
checkpoints, resume and logging behave as users of those tools expect (what DDP leaves to this
toolkit, such as the training heads' gradients, is in ``training/distributed.py``).  ``train``
only wires the parts, in order: the run's folder and checkpoint (``training/checkpoints.py``), the
data and its sampler (``training/data.py``), the model, optimiser, callbacks and Trainer arguments
(``training/setup.py``), the loss (``training/objectives.py``); the run record and model card are
``training/summary.py``.  This module adds the Trainer subclass that checkpoints and guards.

Nothing lost (docs/robustness.md): checkpoints are atomic and verified before a resume, and a
step-bounded run resumed with ``--resume`` after a crash at any point ends with the same weights,
bit for bit on CPU, as a run that was never interrupted: the weights, training-only heads,
optimizer, scheduler, RNG states and the sampler's position (a pure function of seed, epoch and
step) all come back.  A run bounded by ``--budget`` schedules its learning rate by wall-clock time,
so it resumes where it was but is not bit-reproducible.  A NaN or infinite loss stops the run, or
skips the batch (``on_nonfinite``), before it reaches the weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from transformers import PrinterCallback
from transformers import ProgressCallback as HFProgressCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import ExportableState

from interlingua.models.encoder import set_max_length
from interlingua.training.callbacks import CheckpointedCallback, read_clock
from interlingua.training.checkpoints import (
    checkpoint_writer,
    open_run,
    rotate_checkpoints,
    save_final_model,
    staging_folder,
    train_to_the_end,
)
from interlingua.training.config import TrainConfig
from interlingua.training.data import in_memory_data, load_corpora, load_stream, streaming_data
from interlingua.training.distributed import (
    any_process,
    average_head_gradients,
    broadcast_heads,
    negatives_summary,
    process_state,
)
from interlingua.training.guard import BATCH_TEXTS, BatchTextCollator, NonFiniteGuard
from interlingua.training.objectives import build_objective
from interlingua.training.schedule import RunClock
from interlingua.training.setup import (
    build_model,
    optimizer_and_schedule,
    prepare_for_training,
    run_callbacks,
    seed_everything,
    training_arguments,
    training_evaluator,
)
from interlingua.training.summary import TrainingRun, corpus_records

logger = logging.getLogger(__name__)

KEEP_CHECKPOINTS = 2  # the newest and the one before it, in case the newest turns out unreadable
HEADS_FILE = "training_heads.safetensors"


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

    def restore(self, checkpoint: Path) -> None:
        """Load everything ``checkpoint`` holds (weights, heads, optimizer, scheduler) without training."""
        self._load_from_checkpoint(str(checkpoint))

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

    def evaluate(self, *args, **kwargs) -> dict[str, float]:
        """The stock evaluation (``--eval-every``), drawing nothing from the training's random
        streams: its empty DataLoader would take a seed from torch's generator and shift every later
        dropout mask, so a run that scores would end with other weights than one that does not."""
        devices = [self.args.device] if self.args.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            return super().evaluate(*args, **kwargs)

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


def train(config: TrainConfig) -> tuple[TrainingRun, SentenceTransformer]:
    """Run a training job; returns what the run did and the trained model (also saved to ``output``)."""
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    state = process_state()  # under torchrun / accelerate launch: one of several processes
    run = open_run(config, state)
    guard = NonFiniteGuard(config.on_nonfinite, run.output)
    seed_everything(config.seed)
    shards, corpora = load_stream(config) if config.streaming else (None, load_corpora(config))
    evaluator = training_evaluator(config, corpora)  # its test sets read before any training
    with state.main_process_first():  # the main process trains (or downloads), the others load
        model = build_model(config, corpora, run.output, resuming=run.resume_from is not None)
    encode_length = prepare_for_training(model, config)
    loss = build_objective(model, config, [t for corpus in corpora for t in corpus.tgt])
    if shards is None:
        data = in_memory_data(config, model.tokenizer, loss, corpora)
    else:
        data = streaming_data(config, shards, corpora, run.resume_from)
    processes = state.num_processes
    negatives = negatives_summary(loss, config.batch_size, processes, config.gather_negatives, data.split)
    clock = RunClock(read_clock(run.resume_from) if run.resume_from else 0.0, kind=config.budget_clock)
    optimizers = optimizer_and_schedule(model, loss, config, clock)
    args = training_arguments(config, run.checkpoints, data, processes)
    budget, progress = run_callbacks(config, clock, negatives, run.output)
    trainer = InterlinguaTrainer(
        model=model,
        args=args,
        train_dataset=data.dataset,
        loss=loss,
        optimizers=optimizers,
        callbacks=[budget, progress, *data.callbacks],
        evaluator=evaluator,
        guard=guard,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(HFProgressCallback)
    steps = train_to_the_end(trainer, run, config, budget)
    set_max_length(model, encode_length)
    if state.is_main_process:
        save_final_model(model, config, run.output)
    record = TrainingRun(
        output=run.output,
        steps=steps,
        seconds=clock.elapsed(),  # includes the time before a resume (the clock is in checkpoints)
        pairs_seen=steps * negatives["processes"] * negatives["pairs_per_process"],
        stopped_by_budget=budget.stopped_by_budget,
        negatives=negatives,
        corpora=corpus_records(corpora),
    )
    return record, model
