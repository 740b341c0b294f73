"""Training throughput of each recipe against this machine's matmul peak and against a plain loop.

One command:  python benchmarks/training_throughput.py [--recipes tr,lightweight,ems] [--precisions fp32,bf16]

For each recipe and precision (fp32, or bf16 autocast), at one size (the Lightweight encoder:
2 layers, d=512, 8 heads, FFN 1024, 32k vocabulary, batch 128, max 64 pieces), the run builds the
real training job
(``interlingua.training.trainer.train``: corpora, tokenizer, length-bucketed temperature sampler,
objective with its training-only heads, AdamW) and times, on the same batches:

* **plain loop**: ``for batch in dataloader: loss(features).backward(); clip; optimizer.step();
  scheduler.step()`` with the Trainer's own dataloader, loss module, optimizer, schedule and
  gradient clipping (``max_grad_norm``), and nothing else;
* **Trainer**: the sentence-transformers / HF Trainer path that ``interlingua train`` runs (the
  guard, callbacks, logging, scheduler), the same number of steps from the same first batch.

A step's time runs from the end of the previous step to the end of this one, so both include
fetching and tokenising the batch.  The first ``--warmup`` steps are dropped and the median of the
rest reported.  Model FLOPs of a step: 6 x (multiply-adds per token of every dense layer, plus the
attention products) x the padded tokens of the batch, plus 6 x the multiply-adds of the recipe's
per-sentence head (the XTR output layer over the vocabulary: d x V for Lightweight's tied head,
(d + 128) x V for EMS's) for both sentences of each pair; the optimizer's update is not counted.
They are divided by the peak of a 2048 x 2048 matmul in the precision the step trains in; both
peaks (fp32 and bf16) are measured in the same run before each recipe (the machine is shared: peak
and step see the same load).

Prints a table and writes ``runs/benchmarks/training_throughput.json`` (settings, versions, every
step time).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from interlingua import __version__
from interlingua.training import trainer as trainer_module
from interlingua.training.config import build_config

SIZE = {"layers": 2, "hidden": 512, "heads": 8, "ffn": 1024, "vocab_size": 32000, "max_length": 64}
HEAD_INPUT_EXTRA = {"lightweight": 0, "ems": 128}  # XTR head input: d (+ language embedding)


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of one large square matmul, median of ``repeats``."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def encoder_flops_per_token(layers: int, hidden: int, ffn: int, length: float) -> float:
    """Forward + backward (x3) multiply-adds (x2) of one token through the encoder layers."""
    dense = 4 * hidden**2 + 2 * hidden * ffn  # Q, K, V, output; FFN in and out
    attention = 2 * length * hidden  # scores and weighted values
    return 6 * layers * (dense + attention)


def head_flops_per_sentence(recipe: str, hidden: int, vocab: int) -> float:
    if recipe not in HEAD_INPUT_EXTRA:
        return 0.0
    return 6 * (hidden + HEAD_INPUT_EXTRA[recipe]) * vocab


class StepTimer(TrainerCallback):
    """Time between consecutive step ends (the first measured from the start of training)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.last = 0.0

    def on_train_begin(self, args, state, control, **kwargs) -> None:
        self.last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs) -> None:
        now = time.perf_counter()
        self.times.append(now - self.last)
        self.last = now


def plain_loop(trainer, steps: int, bf16: bool) -> tuple[list[float], list[int], list[int]]:
    """``steps`` optimiser steps with the Trainer's dataloader, loss and optimizer, and nothing else."""
    loss_module, optimizer = trainer.loss, trainer.optimizer
    loss_module.train()
    times, padded, real = [], [], []
    batches = iter(trainer.get_train_dataloader())
    last = time.perf_counter()
    for _ in range(steps):
        inputs = next(batches)
        inputs.pop(trainer_module.BATCH_TEXTS, None)
        features, labels = trainer.collect_features(inputs)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            components = loss_module(features, labels)
        total = sum(components.values()) if isinstance(components, dict) else components
        total.backward()
        # What the Trainer's update does too: clip the encoder's gradients, step, schedule.
        torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), trainer.args.max_grad_norm)
        optimizer.step()
        trainer.lr_scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        now = time.perf_counter()
        times.append(now - last)
        last = now
        padded.append(sum(int(f["input_ids"].numel()) for f in features))
        real.append(sum(int(f["attention_mask"].sum()) for f in features))
    return times, padded, real


def measure_recipe(recipe: str, bf16: bool, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Runs the recipe's training job for ``2 x steps`` steps: the plain loop first, then the Trainer."""
    config = build_config(
        recipe=recipe,
        overrides={
            **SIZE,
            "langs": args.langs,
            "data_root": args.data_root,
            "batch_size": args.batch_size,
            "max_steps": args.steps,
            "checkpoint_every": 10**6,
            "log_every": 10**6,
            "bf16": bf16,
            "output": str(workdir / f"{recipe}-{'bf16' if bf16 else 'fp32'}"),
        },
    )
    peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    peak = peaks["bf16" if bf16 else "fp32"]
    measured: dict[str, Any] = {}
    stock_train = trainer_module.InterlinguaTrainer.train

    def plain_then_stock(self, *positional, **keywords):
        measured["plain"] = plain_loop(self, args.steps, bf16)
        timer = StepTimer()
        self.add_callback(timer)
        result = stock_train(self, *positional, **keywords)
        measured["trainer"] = timer.times
        return result

    trainer_module.InterlinguaTrainer.train = plain_then_stock
    try:
        trainer_module.train(config)
    finally:
        trainer_module.InterlinguaTrainer.train = stock_train

    plain_times, padded, real = measured["plain"]
    keep = slice(args.warmup, None)
    mean_padded = statistics.mean(padded[keep])
    mean_length = mean_padded / (2 * args.batch_size)
    step_flops = encoder_flops_per_token(
        SIZE["layers"], SIZE["hidden"], SIZE["ffn"], mean_length
    ) * mean_padded + 2 * args.batch_size * head_flops_per_sentence(
        recipe, SIZE["hidden"], SIZE["vocab_size"]
    )
    result: dict[str, Any] = {
        "precision": "bf16" if bf16 else "fp32",
        "matmul_peak_gflops": round(peak / 1e9, 1),
        "matmul_peaks_gflops": {name: round(value / 1e9, 1) for name, value in peaks.items()},
        "padded_tokens_per_step": round(mean_padded),
        "padding_fraction": round(1 - sum(real[keep]) / sum(padded[keep]), 3),
        "model_gflop_per_step": round(step_flops / 1e9, 2),
    }
    for path, times in (("plain", plain_times), ("trainer", measured["trainer"])):
        step = statistics.median(times[keep])
        result[path] = {
            "median_step_s": round(step, 4),
            "pairs_per_s": round(args.batch_size / step, 1),
            "tokens_per_s": round(mean_padded / step),
            "model_gflops": round(step_flops / step / 1e9, 1),
            "fraction_of_peak": round(step_flops / step / peak, 3),
            "step_times_s": [round(t, 4) for t in times],
        }
    result["trainer_over_plain"] = round(
        result["trainer"]["median_step_s"] / result["plain"]["median_step_s"], 3
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="tr,lightweight,ems")
    parser.add_argument("--langs", default="deu,fra,spa,ita,por,nld,epo,dan,swe,pol")
    parser.add_argument("--data-root")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per path")
    parser.add_argument("--warmup", type=int, default=2, help="first steps left out of the median")
    parser.add_argument(
        "--precisions", default="fp32,bf16", help="fp32 and/or bf16 (autocast; peak: the bf16 matmul)"
    )
    parser.add_argument("--output", default="runs/benchmarks/training_throughput.json")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for precision in args.precisions.split(","):
            for recipe in args.recipes.split(","):
                bf16 = {"fp32": False, "bf16": True}[precision]
                results[f"{recipe} {precision}"] = measure_recipe(recipe, bf16, args, Path(workdir))
    document = {
        "interlingua_version": __version__,
        "torch": torch.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "settings": {**vars(args), **SIZE},
        "results": results,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(document, indent=2))
    print(
        "| recipe, precision | path | step s | pairs/s | tokens/s | model GFLOP/s "
        "| of the precision's peak (GFLOP/s) | Trainer / plain |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, result in results.items():
        for path in ("plain", "trainer"):
            row = result[path]
            ratio = f"{result['trainer_over_plain']:.3f}" if path == "trainer" else ""
            print(
                f"| {name} | {path} | {row['median_step_s']:.3f} | {row['pairs_per_s']} "
                f"| {row['tokens_per_s']} | {row['model_gflops']} "
                f"| {row['fraction_of_peak']:.0%} of {result['matmul_peak_gflops']} | {ratio} |"
            )


if __name__ == "__main__":
    main()
