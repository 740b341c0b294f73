"""Two parts of a training step, each before and after the change that made it faster, side by side.

One command:  python benchmarks/step_components.py [--threads 2] [--repeats 15] [--backbone /work/me5]

* **optimizer update**: AdamW with AMSGrad (the Lightweight recipe's optimiser) over the parameters
  of the real Lightweight objective (encoder at the Lightweight size: 2 layers, d=512, 32k
  vocabulary; plus its training-only heads), every gradient set, in torch's three implementations:
  ``for-loop`` (torch's default on a CPU), ``foreach`` and ``fused`` (what the trainer uses).
* **XTR target and KL**: log-softmax over the vocabulary, the bag-of-pieces target and
  KL(target || p), forward and backward, for one direction of a batch of 128 pairs
  (``--length`` pieces a sentence): ``dense`` builds the (B, V) target and calls
  ``F.kl_div`` on it (the code before), ``entries`` keeps the target as (piece, weight) entries and
  gathers (``interlingua.losses.xtr``); ``log-softmax only`` is the floor both share.
* **DAP step** (with ``--backbone``, e.g. multilingual-e5-small built by ``build_me5_small.py``): one
  forward and backward pass of the ``dap`` recipe's objective on ``--dap-batch`` real pairs of the
  ablation's 10 languages, its RTL head predicting over the whole 250k vocabulary (``full``, the code
  before) and over the English pieces of the training data (``english``, the recipe's default now,
  as the DAP training scripts); translation ranking alone on the same batch is the floor.

Timed repeats go round-robin over the variants so that a change of machine load hits all alike;
medians are reported.  Prints a table and writes ``runs/benchmarks/step_components.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from interlingua import __version__
from interlingua.losses.xtr import bag_of_pieces, kl_to_target
from interlingua.training.config import build_config
from interlingua.training.objectives import build_objective
from interlingua.training.trainer import build_model, load_corpora

SIZE = {"layers": 2, "hidden": 512, "heads": 8, "ffn": 1024, "vocab_size": 32000, "max_length": 64}
DAP_LANGS = "deu,fra,spa,ita,nld,por,rus,pol,tur,ara"  # the ablation's languages
OPTIMIZERS = {"for-loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def lightweight_parameters(data_root: str | None) -> list[torch.nn.Parameter]:
    """The parameters the Lightweight recipe optimises (encoder and heads), each with a gradient."""
    with tempfile.TemporaryDirectory() as workdir:
        overrides = {**SIZE, "langs": "deu,fra", "max_pairs_per_language": 5000, "output": workdir}
        config = build_config(recipe="lightweight", overrides={**overrides, "data_root": data_root})
        model = build_model(config, load_corpora(config), Path(workdir))
        loss = build_objective(model, config)
    unique = {id(p): p for p in [*model.parameters(), *loss.parameters()] if p.requires_grad}
    parameters = list(unique.values())
    for parameter in parameters:
        parameter.grad = torch.randn_like(parameter)
    return parameters


def dap_step_times(args: argparse.Namespace) -> tuple[dict[str, float], int]:
    """Median seconds of one DAP forward + backward per RTL vocabulary (and of TR alone), and |V|."""
    with tempfile.TemporaryDirectory() as workdir:
        overrides = {
            "pretrained": args.backbone,
            "langs": DAP_LANGS,
            "output": workdir,
            "data_root": args.data_root,
        }
        config = build_config(recipe="dap", overrides=overrides)
        corpora = load_corpora(config)
        model = build_model(config, corpora, Path(workdir))
    model.max_seq_length = config.max_length  # the recipe's training length, as the trainer sets it
    english = [t for corpus in corpora for t in corpus.tgt]
    losses = {
        f"RTL over {name}": build_objective(model, dataclasses.replace(config, rtl_vocabulary=name), english)
        for name in ("full", "english")
    }
    losses["translation ranking alone"] = build_objective(
        model, dataclasses.replace(config, objective="translation_ranking")
    )
    # One pair of each language in turn, as a temperature-1 sampler mixes them.
    pairs = [(c.src[i], c.tgt[i]) for i in range(args.dap_batch) for c in corpora][: args.dap_batch]
    features = [model.preprocess([pair[side] for pair in pairs]) for side in (0, 1)]

    def step(loss: torch.nn.Module) -> Callable[[], None]:
        def run() -> None:
            sum(loss([dict(column) for column in features]).values()).backward()
            for parameter in [*model.parameters(), *loss.parameters()]:
                parameter.grad = None

        return run

    times = round_robin({name: step(loss) for name, loss in losses.items()}, args.dap_repeats)
    return times, len(losses["RTL over english"].rtl.vocabulary_ids)


def dense_xtr_kl(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The code before: a dense (B, V) bag of distinct pieces, then F.kl_div over it."""
    counts = torch.zeros(logits.shape, dtype=logits.dtype)
    counts.scatter_add_(1, ids, mask.to(counts.dtype))
    present = (counts > 0).to(counts.dtype)
    target = present / present.sum(dim=1, keepdim=True).clamp_min(1.0)
    return F.kl_div(F.log_softmax(logits, dim=-1), target, reduction="batchmean")


def entries_xtr_kl(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return kl_to_target(F.log_softmax(logits, dim=-1), bag_of_pieces(ids, mask))


def round_robin(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    for run in variants.values():
        run()  # untimed warm-up
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def optimizer_and_kl_times(args: argparse.Namespace) -> tuple[dict[str, dict[str, float]], dict]:
    """The first two parts' median seconds per variant, and what the JSON records beside them."""
    parameters = lightweight_parameters(args.data_root)
    optimizers = {
        name: torch.optim.AdamW(parameters, lr=1e-3, weight_decay=1e-5, amsgrad=True, **options)
        for name, options in OPTIMIZERS.items()
    }
    optimizer_times = round_robin({name: opt.step for name, opt in optimizers.items()}, args.repeats)

    generator = torch.Generator().manual_seed(0)
    vocab = SIZE["vocab_size"]
    logits = torch.randn(args.batch, vocab, generator=generator, requires_grad=True)
    ids = torch.randint(0, vocab, (args.batch, args.length), generator=generator)
    mask = (torch.rand(args.batch, args.length, generator=generator) > 0.2).long()

    def backward(loss_function: Callable) -> Callable[[], None]:
        def run() -> None:
            loss_function().backward()
            logits.grad = None

        return run

    kl_times = round_robin(
        {
            "dense": backward(lambda: dense_xtr_kl(logits, ids, mask)),
            "entries": backward(lambda: entries_xtr_kl(logits, ids, mask)),
            "log-softmax only": backward(lambda: F.log_softmax(logits, dim=-1)[:, 0].sum()),
        },
        args.repeats,
    )
    same = abs(dense_xtr_kl(logits, ids, mask).item() - entries_xtr_kl(logits, ids, mask).item())
    count = sum(p.numel() for p in parameters)
    print(f"({count / 1e6:.1f}M parameters; |dense - entries| KL = {same:.2e})")
    parts = {"AdamW (AMSGrad) update": optimizer_times, "XTR target + KL": kl_times}
    return parts, {"parameters": count, "kl_abs_difference": same, **SIZE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="default: torch's choice")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=128, help="rows of one XTR direction")
    parser.add_argument("--length", type=int, default=20, help="pieces per sentence in the XTR part")
    parser.add_argument("--data-root", default=None, help="default: $INTERLINGUA_DATA")
    parser.add_argument(
        "--backbone", default=None, help="pretrained folder for the DAP part (default: skip it)"
    )
    parser.add_argument("--dap-batch", type=int, default=32, help="pairs of the DAP step (the ablation's)")
    parser.add_argument("--dap-repeats", type=int, default=5)
    parser.add_argument("--only-dap", action="store_true", help="time the DAP part alone")
    parser.add_argument("--output", default="runs/benchmarks/step_components.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    parts, recorded = ({}, {}) if args.only_dap else optimizer_and_kl_times(args)
    if args.backbone:
        parts["DAP forward + backward"], recorded["english_pieces"] = dap_step_times(args)
        print(f"(RTL over the English pieces: {recorded['english_pieces']:,} of the backbone's vocabulary)")
    print("| part | variant | median ms | vs. the first variant |\n|---|---|---:|---:|")
    for part, times in parts.items():
        first = next(iter(times.values()))
        for name, seconds in times.items():
            print(f"| {part} | {name} | {seconds * 1000:.1f} | {first / seconds:.2f}x |")
    document = {
        "interlingua_version": __version__,
        "torch": torch.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "settings": {**vars(args), **recorded},
        "median_s": parts,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
