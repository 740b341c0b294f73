"""Ablation of the seed methods: every recipe at the same wall-clock budget on the same languages.

Rows: Lightweight, EMS and translation ranking trained from scratch at one size (the Lightweight
encoder: 2 layers, d=512); DAP, ML-CTL and translation ranking trained from a pretrained backbone
(multilingual-e5-small); each row is scored on Tatoeba (both directions, accuracy %) and FLORES-200
devtest (xSIM error %, xx -> eng) on the trained languages, next to its starting point (the
untrained scratch encoder, or the backbone itself).

What is equal across rows: languages, corpora, budget, seed, maximum length (``--max-length``,
200 pieces: the Lightweight paper's; EMS's is 120), warm-up fraction (5%: the recipes' 2,000 /
10,000 steps are clamped to that in a short run anyway), and per group the size knobs (scratch:
layers, width, heads, FFN, vocabulary, batch; backbone: batch).
What stays each recipe's own: the objective and its weights, temperature, learning rate, AMSGrad,
schedule and sampling temperature.  Two diagnostic rows take EMS apart: ``ems-lr1e-3`` runs the
EMS objective at the `tr` recipe's learning rate (objective vs optimiser settings), and
``ems-cl-only`` its contrastive term without XTR.  ``tr-scratch-bf16`` is the `tr` row in bf16
autocast (faster steps on a CPU with AMX: same budget, more pairs; does the result hold?).  The TR
row on the backbone takes DAP's optimisation (AdamW 5e-5, no weight decay): the `tr` recipe's 1e-3
is for training from scratch.

Round 2 (issue 13): does token-level alignment pay *on top of* translation ranking?
``tr-at-ems-steps`` trains TR for the steps the ``ems`` row trained (no budget): does throughput
explain EMS's gap?  ``ems-cl-only``, ``tr-tau0.1``, ``ems-no-amsgrad``, ``ems-t1`` (sampling
temperature 1), ``ems-linear`` (linear decay), ``ems-cw10`` (contrastive weight 10 instead of 2) and
``lightweight-align-only`` take EMS and Lightweight apart; ``tr-scratch-len64`` trains TR at 64
pieces (what a longer maximum length costs and gains, on FLORES above all).  The hybrids
``tr+TERM{0.1,0.5}`` are the ``tr`` recipe plus lambda x one token-level term (objective
``tr_plus``: ``xtr``, ``ugt``, ``rtl`` over the English pieces, or ML-CTL's ``word`` term), from
scratch and, with the ``-me5`` suffix, from the backbone at the ``tr-backbone`` row's optimiser.
Two modifiers apply to any row: ``NAME@3x`` trains it at 3 x ``--budget`` (any factor: ``@6x``;
which way the curves go), ``NAME@all`` on every training corpus (Tatoeba-Challenge, WMT, TICO-19,
Bible: what the domain mix does to FLORES against Tatoeba); ``NAME@3x@all`` both.

Budgets count process CPU time (``budget_clock: cpu``) on one thread per row by default: on a shared
machine a wall-clock budget buys a row fewer steps whenever others load the cores, a CPU-time budget
buys every row the same work.  Each row and starting point writes its own ``result.json``, so two
invocations with disjoint ``--rows`` can run side by side on a 2-core machine (one core each); a
starting point needed by both is built by each in a folder of its own, identically (same seed),
and its result written atomically.

Round 1 (issue 3, as recorded in docs/benchmarks.md: 10 languages, 20 CPU-minutes per scratch row, 10
per backbone row; each line below is one pair of rows on the two cores):
    A="python benchmarks/ablation.py"
    $A --rows ems --budget 20m & $A --rows tr-scratch --budget 20m; wait
    $A --rows lightweight --budget 20m & $A --rows distill --budget 20m; wait
    $A --rows dap --budget 10m & $A --rows mlctl --budget 10m; wait
    $A --rows tr-backbone --budget 10m
    $A --table        # the collected table, as markdown

Round 2 as recorded in docs/benchmarks.md (10 CPU-minutes per scratch row, 5 per backbone row,
rows popped by two queues from one list; the modifiers after the rows they repeat):
    $A --rows tr-scratch,ems,tr+xtr0.5,tr+rtl0.5,tr+word0.5,tr+ugt0.5,tr-at-ems-steps --budget 10m
    $A --rows tr+xtr0.1,tr+rtl0.1,tr+word0.1,tr+ugt0.1,ems-cl-only,tr-tau0.1,tr-scratch-len64 --budget 10m
    $A --rows tr-scratch@3x,tr+word0.1@3x,tr-scratch@all,tr+word0.1@all --budget 10m
    $A --rows tr-backbone,tr+word0.1-me5,tr+xtr0.1-me5 --budget 5m

The backbone is the output of ``../shared/tools/build_me5_small.py /tmp/me5`` (``/tmp/me5`` the
Hugging Face folder, ``/tmp/me5-st`` the sentence-transformers folder, the distillation teacher).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from interlingua.data.languages import parse_language_list
from interlingua.evaluation.flores import evaluate_flores
from interlingua.evaluation.tatoeba import TatoebaResult, evaluate_tatoeba
from interlingua.models.encode import SentenceTransformerEncoder
from interlingua.models.encoder import load_pretrained_encoder
from interlingua.training.config import TrainConfig, build_config, parse_duration
from interlingua.training.pipeline import train_and_evaluate
from interlingua.training.trainer import build_model, load_corpora, seed_everything

SCRATCH, BACKBONE = "scratch", "backbone"


ALL_CORPORA = ["tatoeba_challenge", "wmt", "tico19", "bible"]
BACKBONE_TR = {"learning_rate": 5e-5, "weight_decay": 0.0}  # DAP's optimisation: 1e-3 is for scratch
TOKEN_TERMS = ("xtr", "ugt", "rtl", "word")
# DAP's RTL weight, and EMS's ratio of XTR to its contrastive term (1 : 2).
TOKEN_WEIGHTS = (0.1, 0.5)


@dataclass(frozen=True)
class Row:
    name: str
    recipe: str
    start: str  # SCRATCH or BACKBONE
    overrides: dict[str, Any] = field(default_factory=dict)
    steps_of: str | None = None  # train for the steps this row trained (same modifiers), no budget


def hybrid_rows() -> list[Row]:
    """The ``tr`` recipe + lambda x each token term, from scratch and from the backbone."""
    rows = []
    for term in TOKEN_TERMS:
        for weight in TOKEN_WEIGHTS:
            keys = {"objective": "tr_plus", "token_term": term, "token_weight": weight}
            rows.append(Row(f"tr+{term}{weight}", "tr", SCRATCH, keys))
            rows.append(Row(f"tr+{term}{weight}-me5", "tr", BACKBONE, {**keys, **BACKBONE_TR}))
    return rows


ROWS = [
    Row("lightweight", "lightweight", SCRATCH),
    Row("ems", "ems", SCRATCH),
    # The EMS objective at translation ranking's learning rate: separates objective from optimiser.
    Row("ems-lr1e-3", "ems", SCRATCH, {"learning_rate": 1e-3}),
    # EMS without XTR: its contrastive term alone (projection head, tau 0.1), EMS's optimiser.
    Row("ems-cl-only", "ems", SCRATCH, {"objective": "ems_contrastive"}),
    Row("tr-scratch", "tr", SCRATCH),
    # The same in bf16 autocast: on a CPU with AMX the step is faster; does the result hold?
    Row("tr-scratch-bf16", "tr", SCRATCH, {"bf16": True}),
    # Multilingual distillation into a scratch student (teacher: --teacher).  MSE needs the student
    # as wide as the teacher: d=384, 6 heads (the recipe's size), other knobs as the scratch group.
    Row("distill", "distill", SCRATCH, {"hidden": 384, "heads": 6}),
    Row("dap", "dap", BACKBONE),
    Row("mlctl", "mlctl", BACKBONE),
    Row("tr-backbone", "tr", BACKBONE, BACKBONE_TR),
    # Round 2 (issue 13).
    Row("tr-at-ems-steps", "tr", SCRATCH, steps_of="ems"),
    Row("tr-tau0.1", "tr", SCRATCH, {"scale": 10.0}),
    Row("tr-scratch-len64", "tr", SCRATCH, {"max_length": 64}),
    Row("ems-no-amsgrad", "ems", SCRATCH, {"amsgrad": False}),
    Row("ems-t1", "ems", SCRATCH, {"sampling_temperature": 1.0}),
    Row("ems-linear", "ems", SCRATCH, {"schedule": "linear"}),
    Row("ems-cw10", "ems", SCRATCH, {"contrastive_weight": 10.0}),
    Row("lightweight-align-only", "lightweight", SCRATCH, {"objective": "align"}),
    *hybrid_rows(),
]
ROWS_BY_NAME = {row.name: row for row in ROWS}
BUDGET_FACTOR = re.compile(r"[1-9][0-9]*x")  # the @Nx modifier


@dataclass(frozen=True)
class Run:
    """A row as one invocation runs it: ``NAME[@Nx][@all]``."""

    spec: str
    row: Row
    budget_factor: int
    all_corpora: bool

    def spec_of(self, name: str) -> str:
        """Another row's spec with this run's modifiers."""
        return name + self.spec.removeprefix(self.row.name)


def parse_run(spec: str) -> Run:
    name, *modifiers = spec.split("@")
    factors = [int(m[:-1]) for m in modifiers if BUDGET_FACTOR.fullmatch(m)]
    unknown = [m for m in modifiers if m != "all" and not BUDGET_FACTOR.fullmatch(m)]
    if name not in ROWS_BY_NAME or unknown or len(factors) > 1:
        raise SystemExit(f"unknown row {spec!r}: a row name, then optionally @Nx (e.g. @3x) and/or @all")
    return Run(spec, ROWS_BY_NAME[name], factors[0] if factors else 1, "all" in modifiers)


def shared_overrides(args: argparse.Namespace, start: str) -> dict[str, Any]:
    common = {
        "langs": args.langs,
        "data_root": args.data_root,
        "budget": args.budget,
        "budget_clock": args.budget_clock,
        "threads": args.threads,
        "max_steps": args.max_steps,
        "max_length": args.max_length,
        "warmup": 0.05,
        "seed": args.seed,
        "max_pairs_per_language": args.max_pairs_per_language,
        "checkpoint_every": 10**6,  # only the final save: checkpoints would eat the budget
        "log_every": 10,
        "teacher": args.teacher,
        "teacher_prefix": args.teacher_prefix,
    }
    if start == SCRATCH:
        return {
            **common,
            "layers": args.layers,
            "hidden": args.hidden,
            "heads": args.heads,
            "ffn": args.ffn,
            "vocab_size": args.vocab_size,
            "batch_size": args.batch_size,
        }
    return {**common, "pretrained": args.backbone, "pooling": "mean", "batch_size": args.backbone_batch_size}


def score(model, name: str, config: TrainConfig, tatoeba: TatoebaResult | None = None) -> dict[str, Any]:
    """Tatoeba (unless already scored) and FLORES on the run's languages."""
    encoder = SentenceTransformerEncoder(model, name=name, batch_size=256)
    tatoeba = tatoeba or evaluate_tatoeba(encoder, config.data_root, config.langs)
    flores = evaluate_flores(encoder, config.data_root, config.langs)
    return {
        "tatoeba": tatoeba.average,
        "tatoeba_per_language": {code: s.average for code, s in tatoeba.per_language.items()},
        "flores_xsim_error": flores.average,
        "flores_per_language": flores.error_rates,
    }


def starting_point(args: argparse.Namespace, start: str, output: Path) -> dict[str, Any]:
    """Scores of the untrained scratch encoder (same tokenizer and seed as the rows) or the backbone."""
    config = build_config(recipe="tr", overrides={**shared_overrides(args, start), "output": str(output)})
    if start == SCRATCH:
        seed_everything(config.seed)
        output.mkdir(parents=True, exist_ok=True)
        model = build_model(config, load_corpora(config), output)
    else:
        model = load_pretrained_encoder(args.backbone, pooling="mean")  # at its own length, as trained
    return score(model, f"{start} (untrained)", config)


def run_overrides(args: argparse.Namespace, run: Run, finished: dict[str, Any]) -> dict[str, Any]:
    """What the run changes in the shared settings: its row's keys, budget and corpora."""
    overrides = {**shared_overrides(args, run.row.start), **run.row.overrides}
    if run.budget_factor != 1:
        overrides["budget"] = f"{parse_duration(args.budget) * run.budget_factor:g}s"
    if run.all_corpora:
        overrides["corpora"] = ALL_CORPORA
    if run.row.steps_of:
        source = run.spec_of(run.row.steps_of)
        if source not in finished["rows"]:
            raise SystemExit(f"{run.spec} trains for the steps of {source}: run {source} first")
        overrides.update(max_steps=finished["rows"][source]["steps"], budget=None)
    return overrides


def run_row(args: argparse.Namespace, run: Run, output: Path, finished: dict[str, Any]) -> dict[str, Any]:
    config = build_config(
        recipe=run.row.recipe, overrides={**run_overrides(args, run, finished), "output": str(output)}
    )
    started = time.monotonic()
    tatoeba = train_and_evaluate(config)  # trains, then scores Tatoeba on the trained languages
    summary = json.loads((output / "training_summary.json").read_text())
    model = load_pretrained_encoder(output)  # at the length it was saved with, not the training one
    return {
        **score(model, run.spec, config, tatoeba),
        "steps": summary["steps"],
        "pairs_seen": summary["pairs_seen"],
        "train_seconds": summary["train_seconds"],
        "wall_seconds": round(time.monotonic() - started, 1),
        "learning_rate": config.learning_rate,
        "budget": (
            f"{config.budget} of {config.budget_clock} time" if config.budget else f"{config.max_steps} steps"
        )
        + f" on {config.threads or 'all'} thread(s)"
        + (", bf16" if config.bf16 else ""),
    }


def write_result(folder: Path, result: dict[str, Any]) -> None:
    """Atomically: a concurrent invocation never reads half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f"result.json.{os.getpid()}"
    staging.write_text(json.dumps(result, indent=2))
    os.replace(staging, folder / "result.json")


def collect(output: Path) -> dict[str, Any]:
    """Every finished row and starting point under ``output``."""
    found: dict[str, Any] = {"starts": {}, "rows": {}}
    for start in (SCRATCH, BACKBONE):
        if (path := output / f"start-{start}" / "result.json").exists():
            found["starts"][start] = json.loads(path.read_text())
    for path in sorted(output.glob("*/result.json")):
        if path.parent.name.split("@")[0] in ROWS_BY_NAME:
            found["rows"][path.parent.name] = json.loads(path.read_text())
    return found


def table_order(spec: str) -> tuple[int, str]:
    """Rows in the order of ROWS, each followed by its modified runs."""
    return ROWS.index(ROWS_BY_NAME[spec.split("@")[0]]), spec


def table(results: dict[str, Any]) -> str:
    lines = [
        "| row | start | budget | steps | pairs seen | Tatoeba acc. % (start -> trained) "
        "| FLORES xSIM err. % (start -> trained) |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for spec in sorted(results["rows"], key=table_order):
        row = ROWS_BY_NAME[spec.split("@")[0]]
        if row.start not in results["starts"]:
            continue
        result, start = results["rows"][spec], results["starts"][row.start]
        lines.append(
            f"| {spec} | {row.start} | {result['budget']} | {result['steps']} | "
            f"{result['pairs_seen']:,} | "
            f"{start['tatoeba']:.1f} -> **{result['tatoeba']:.1f}** | "
            f"{start['flores_xsim_error']:.1f} -> **{result['flores_xsim_error']:.1f}** |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", default="20m", help="training budget of every row run by this call")
    parser.add_argument(
        "--budget-clock", default="cpu", choices=["cpu", "wall"], help="what the budget counts"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per row")
    parser.add_argument("--table", action="store_true", help="only print the table of the finished rows")
    parser.add_argument("--langs", default="deu,fra,spa,ita,nld,por,rus,pol,tur,ara")
    parser.add_argument(
        "--backbone", default="/tmp/me5", help="pretrained encoder folder (build_me5_small.py)"
    )
    parser.add_argument("--data-root", default=None, help="shared data folder (default: $INTERLINGUA_DATA)")
    parser.add_argument(
        "--teacher", default="/tmp/me5-st", help="distillation teacher (sentence-transformers)"
    )
    parser.add_argument("--teacher-prefix", default="query: ")
    parser.add_argument("--output", default="runs/ablation", help="folder of the runs and their results")
    parser.add_argument(
        "--rows",
        default=",".join(row.name for row in ROWS),
        help="rows: NAME[@Nx][@all],...",
    )
    parser.add_argument("--max-length", type=int, default=200, help="pieces per training sentence, every row")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-steps", type=int, default=None, help="also stop there (a smoke test)")
    parser.add_argument("--max-pairs-per-language", type=int, default=None)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--ffn", type=int, default=1024)
    parser.add_argument("--vocab-size", type=int, default=32000)
    parser.add_argument("--batch-size", type=int, default=128, help="batch of the scratch rows")
    parser.add_argument("--backbone-batch-size", type=int, default=32, help="batch of the backbone rows")
    args = parser.parse_args()
    args.langs = ",".join(language.code for language in parse_language_list(args.langs))
    logging.basicConfig(level=logging.WARNING)

    output = Path(args.output)
    if args.table:
        print(table(collect(output)))
        return
    if args.threads is not None:
        torch.set_num_threads(args.threads)  # for the scoring of the starting points too
    wanted = [parse_run(spec) for spec in args.rows.split(",") if spec]
    finished = collect(output)
    for start in sorted({run.row.start for run in wanted} - set(finished["starts"])):
        # Built in a folder of this process's own: a concurrent invocation may build it too.
        scratch_folder = output / f".start-{start}.{os.getpid()}"
        result = starting_point(args, start, scratch_folder)
        write_result(output / f"start-{start}", {**result, "settings": vars(args)})
        shutil.rmtree(scratch_folder, ignore_errors=True)
    for run in wanted:
        if run.spec in finished["rows"]:
            continue  # finished by an earlier invocation with the same output folder
        row_output = output / run.spec
        shutil.rmtree(row_output, ignore_errors=True)
        write_result(row_output, {**run_row(args, run, row_output, finished), "settings": vars(args)})
        finished = collect(output)  # a later run may train for this one's steps
    print(table(collect(output)))


if __name__ == "__main__":
    main()
