"""Scaling on this machine: 1 vs 2 processes (DDP, gloo), and the memory of a batch of 4096 with GradCache.

One command:  python benchmarks/scaling.py [--steps 12] [--batch 256] [--big-batch 4096]

Every run is the real training job (``interlingua.training.trainer.train``: corpora, the `tr`
recipe's encoder — 2 layers, d=512, 8 heads, FFN 1024, 32k vocabulary, max 64 pieces —, the
length-bucketed sampler, translation ranking, AdamW), each in fresh processes with one thread each
(``OMP_NUM_THREADS=1``), on the same languages and the same tokenizer (trained once, first).

* **throughput**: ``--steps`` steps of a ``--batch`` batch with 1 process, then with 2 processes
  (``torchrun --nproc_per_node 2``, each with half of every batch, negatives gathered, so both runs
  compute the same thing).  pairs/s is measured from the second logged step to the last (the first
  pays for warm-up), and each process's peak RSS is reported.
* **memory**: the peak RSS of one process training a batch of 128 without the cache, and of one
  training a batch of ``--big-batch`` with ``cache_chunk_size`` 128 (2 steps each).  The bar: the
  second at most 1.5 x the first.  ``training RSS`` is the growth of RSS from the start of training
  to the peak (what the batch costs, without the interpreter, libraries, corpora and model).

On a shared machine, wall-clock throughput depends on what else runs, so the CPU time of the
training loop is reported beside it: ``pairs/CPU-s`` (pairs over the CPU seconds of all processes:
the cost of a pair) and ``CPU s/step`` (the busiest process's CPU seconds a step: on idle cores,
one per process, the step time).  Their ratio between the throughput runs is the speed-up 2
processes would give on 2 idle cores.  Prints a table and writes ``runs/benchmarks/scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGS = "deu,fra,spa,ita,por,nld"
BASE = {
    "recipe": "tr",
    "langs": LANGS,
    "max_pairs_per_language": 2000,
    "tokenizer_lines_per_language": 5000,
    "checkpoint_every": 10**6,  # no checkpoints: they would time the disk
    "log_every": 1,
    "threads": 1,
}


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(config_file: Path, result_folder: Path) -> None:
    """One process of a run (under torchrun or alone): train, then record peak RSS and timings."""
    from interlingua.training import callbacks
    from interlingua.training.config import build_config
    from interlingua.training.trainer import train

    at_start: dict[str, float] = {}
    original = callbacks.ProgressCallback.on_train_begin

    def recording(self, args, state, control, **kwargs):
        at_start["rss_mb"] = current_rss_mb()
        at_start["cpu"] = time.process_time()
        return original(self, args, state, control, **kwargs)

    callbacks.ProgressCallback.on_train_begin = recording
    config = build_config(overrides=json.loads(config_file.read_text()))
    run, _ = train(config)
    rank = int(os.environ.get("RANK", "0"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    record = {
        "rank": rank,
        "peak_rss_mb": round(peak, 1),
        "rss_at_train_start_mb": round(at_start["rss_mb"], 1),
        "training_rss_mb": round(peak - at_start["rss_mb"], 1),
        "train_cpu_seconds": round(time.process_time() - at_start["cpu"], 1),
        "steps": run.steps,
    }
    result_folder.mkdir(parents=True, exist_ok=True)
    (result_folder / f"rank{rank}.json").write_text(json.dumps(record))


def throughput(log: Path, batch: int) -> float:
    """pairs/s from the second logged step to the last."""
    records = [json.loads(line) for line in log.read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    first, last = steps[0], steps[-1]
    return (last["step"] - first["step"]) * batch / (last["elapsed"] - first["elapsed"])


def run(name: str, values: dict, processes: int, folder: Path, tokenizer: Path | None) -> dict:
    output = folder / name
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    if tokenizer is not None:
        shutil.copytree(tokenizer, output / "tokenizer")  # the same vocabulary, not trained again
    config_file = folder / f"{name}.json"
    config_file.write_text(json.dumps({**BASE, **values, "output": str(output)}))
    script = [str(Path(__file__).resolve()), "--worker", str(config_file), str(folder / f"{name}-result")]
    if processes == 1:
        command = [sys.executable, *script]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}", *script]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    ranks = [json.loads(p.read_text()) for p in sorted((folder / f"{name}-result").glob("rank*.json"))]
    steps = ranks[0]["steps"]
    return {
        "name": name,
        "processes": processes,
        "batch": values["batch_size"],
        "cache_chunk_size": values.get("cache_chunk_size"),
        "pairs_per_second": round(throughput(output / "train_log.jsonl", values["batch_size"]), 1),
        "pairs_per_cpu_second": round(
            steps * values["batch_size"] / sum(r["train_cpu_seconds"] for r in ranks), 1
        ),
        "cpu_seconds_per_step": round(max(r["train_cpu_seconds"] for r in ranks) / steps, 2),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "ranks": ranks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="steps of each throughput run")
    parser.add_argument("--batch", type=int, default=256, help="batch of the throughput runs")
    parser.add_argument("--big-batch", type=int, default=4096, help="batch of the GradCache memory run")
    parser.add_argument("--data-root", default=os.environ.get("INTERLINGUA_DATA"))
    parser.add_argument("--output", default="runs/benchmarks/scaling", help="working folder")
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "RESULTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), Path(args.worker[1]))
        return

    folder = Path(args.output).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    BASE["data_root"] = args.data_root
    # The vocabulary, once: a one-step run trains it, the others copy it.
    run("tokenizer", {"batch_size": 16, "max_steps": 2}, 1, folder, tokenizer=None)
    tokenizer = folder / "tokenizer" / "tokenizer"

    common = {"max_steps": args.steps, "gather_negatives": True}
    results = [
        run("one-process", {**common, "batch_size": args.batch}, 1, folder, tokenizer),
        run("two-processes", {**common, "batch_size": args.batch}, 2, folder, tokenizer),
        run("batch-128", {"batch_size": 128, "max_steps": 2}, 1, folder, tokenizer),
        run(
            f"batch-{args.big_batch}-cached",
            {"batch_size": args.big_batch, "max_steps": 2, "cache_chunk_size": 128},
            1,
            folder,
            tokenizer,
        ),
    ]
    print(
        f"{'run':<22} {'procs':>5} {'batch':>6} {'pairs/s':>8} {'pairs/CPU-s':>11} {'CPU s/step':>10} "
        f"{'peak RSS MB':>12} {'training RSS MB':>16}"
    )
    for result in results:
        peaks = "/".join(f"{r['peak_rss_mb']:.0f}" for r in result["ranks"])
        growth = "/".join(f"{r['training_rss_mb']:.0f}" for r in result["ranks"])
        print(
            f"{result['name']:<22} {result['processes']:>5} {result['batch']:>6} "
            f"{result['pairs_per_second']:>8.1f} {result['pairs_per_cpu_second']:>11.1f} "
            f"{result['cpu_seconds_per_step']:>10.2f} {peaks:>12} {growth:>16}"
        )
    small, big = results[2]["ranks"][0], results[3]["ranks"][0]
    ratio = big["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"peak RSS, batch {args.big_batch} cached / batch 128 plain: {ratio:.2f} (bar: <= 1.5)")
    speedup = results[1]["pairs_per_second"] / results[0]["pairs_per_second"]
    idle = results[0]["cpu_seconds_per_step"] / results[1]["cpu_seconds_per_step"]
    print(f"throughput, 2 processes / 1 process: {speedup:.2f}x wall clock here, {idle:.2f}x on idle cores")
    summary = {"settings": {**BASE, **vars(args)}, "results": results, "memory_ratio": round(ratio, 3)}
    summary.update(throughput_ratio=round(speedup, 3), idle_core_throughput_ratio=round(idle, 3))
    (folder / "scaling.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {folder / 'scaling.json'}")


if __name__ == "__main__":
    main()
