"""Multi-process training: 2 CPU processes (gloo) give the loss and gradients of 1 process on the
concatenated batch, with negatives gathered across processes.

The loss-level test spawns two processes that each hold half of an 8-pair batch, wrap the tiny
encoder in DDP as the Trainer does, and compare their loss and (DDP- and head-averaged) gradients
with one process on the whole batch: translation ranking (plain, and GradCache with hard negatives),
DAP (TR + RTL, cached), ML-CTL's sentence and word CZ-NCE (whose word samples differ in number
between the processes), and EMS, which keeps its negatives per process.  The end-to-end test runs
``torchrun --nproc_per_node 2 -m interlingua train`` and compares it with a one-process run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from training_tiny import TINY_TR

from interlingua.errors import ConfigError
from interlingua.losses.cz_nce import CZNCELoss
from interlingua.losses.dap import DAPLoss
from interlingua.losses.ems import EMSLoss
from interlingua.losses.mlctl import MLCTLLoss
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.losses.xtr import XTRLoss
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
from interlingua.models.tokenizer import train_tokenizer
from interlingua.training.config import build_config
from interlingua.training.distributed import average_head_gradients, negatives_line, negatives_summary
from interlingua.training.objectives import build_objective
from interlingua.training.trainer import train

SOURCES = [
    "hallo welt, das ist ein test.",
    "die katze sitzt auf der matte",
    "bonjour le monde !",
    "die katze schläft",
    "hallo katze",
    "le chat est sur la matte",  # its translation repeats pair 1's: not a negative, across processes
    "le monde est un test",
    "bonjour la matte",
]
TARGETS = [
    "hello world, this is a test.",
    "the cat sits on the mat",
    "hello world !",
    "the cat sleeps",
    "hello cat",
    "the cat sits on the mat",
    "the world is a test",
    "hello mat",
]
HARD_NEGATIVES = [*TARGETS[3:], *TARGETS[:3]]
LANGUAGES = ["eng", "deu", "fra"]
ROW_LANGUAGES = torch.tensor([1, 1, 2, 1, 1, 2, 2, 2])
HALF = len(SOURCES) // 2


def build_loss(case: str, model) -> torch.nn.Module:
    if case in ("tr", "tr_cached_hard"):
        loss = TranslationRankingLoss(model, margin=0.3)
    elif case == "dap_cached":
        loss = DAPLoss(model, margin=0.2, rtl_layers=1)
    elif case == "mlctl":
        loss = MLCTLLoss(model, mlm_probability=0.0)  # no MLM draws: both runs see the same batch
    else:
        loss = EMSLoss(model, LANGUAGES, language_dim=4, projection_dim=8)
    loss.configure(cache_chunk_size=2 if "cached" in case else None, gather_negatives=case != "ems")
    return loss


CASES = ("tr", "tr_cached_hard", "dap_cached", "mlctl", "ems")


def texts_of(case: str) -> list[list[str]]:
    return [SOURCES, TARGETS, HARD_NEGATIVES] if "hard" in case else [SOURCES, TARGETS]


def loss_and_gradients(loss, model, columns, labels) -> dict:
    """One forward and backward pass; the loss components and every gradient (encoder and heads)."""
    model.zero_grad(set_to_none=True)
    loss.zero_grad(set_to_none=True)
    features = [dict(model.preprocess(column)) for column in columns]
    losses = loss(features, labels)
    torch.stack(list(losses.values())).sum().backward()
    average_head_gradients(loss)  # what the trainer does after each step; a no-op in one process
    parameters = {f"model.{k}": p for k, p in model.named_parameters()}
    parameters.update({k: p for k, p in loss.named_parameters() if not k.startswith("model.")})
    return {
        "losses": {k: v.item() for k, v in losses.items()},
        "gradients": {k: p.grad.clone() for k, p in parameters.items() if p.grad is not None},
    }


def worker(rank: int, world: int, port: int, folder: str) -> None:
    """One of the two processes: its half of each batch, DDP as in the Trainer."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = SentenceTransformer(str(Path(folder) / "model"), device="cpu").eval()
        # The tiny BERT's pooler is unused, as in training: the Trainer passes the same flag.
        ddp = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
        rows = slice(rank * HALF, (rank + 1) * HALF)
        results = {}
        for case in CASES:
            loss = build_loss(case, model).eval()
            loss.load_state_dict(torch.load(Path(folder) / f"{case}.heads.pt"), strict=False)
            loss.model = ddp  # as the Trainer's override_model_in_loss does
            columns = [column[rows] for column in texts_of(case)]
            results[case] = loss_and_gradients(loss, model, columns, ROW_LANGUAGES[rows])
        torch.save(results, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_close_gradients(actual: dict, expected: dict) -> None:
    """Equal gradients; a head without one on one side must have none (or zeros) on the other."""
    for name in actual.keys() | expected.keys():
        reference = expected.get(name, torch.zeros_like(actual.get(name, torch.zeros(()))))
        torch.testing.assert_close(
            actual.get(name, torch.zeros_like(reference)), reference, atol=1e-5, rtol=1e-4, msg=name
        )


def mean_of(results: list[dict]) -> dict:
    return {
        "losses": {k: sum(r["losses"][k] for r in results) / len(results) for k in results[0]["losses"]},
        "gradients": {
            k: sum(r["gradients"][k] for r in results) / len(results) for k in results[0]["gradients"]
        },
    }


def test_two_processes_equal_one_process_on_the_concatenated_batch(tmp_path):
    tokenizer = train_tokenizer(SOURCES + TARGETS, vocab_size=120, languages=LANGUAGES[1:])
    torch.manual_seed(0)
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=2, hidden=16, heads=2, ffn=32)).eval()
    model.save(str(tmp_path / "model"))
    expected = {}
    for case in CASES:
        torch.manual_seed(1)
        loss = build_loss(case, model).eval()
        torch.save(loss.head_state(), tmp_path / f"{case}.heads.pt")
        if case == "ems":  # negatives per process: the mean of the two halves, each on its own
            halves = [slice(0, HALF), slice(HALF, None)]
            expected[case] = mean_of(
                [
                    loss_and_gradients(loss, model, [c[rows] for c in texts_of(case)], ROW_LANGUAGES[rows])
                    for rows in halves
                ]
            )
        else:
            loss.configure(cache_chunk_size=None, gather_negatives=False)  # one process: no cache either
            expected[case] = loss_and_gradients(loss, model, texts_of(case), ROW_LANGUAGES)

    mp.start_processes(worker, args=(2, free_port(), str(tmp_path)), nprocs=2, start_method="fork")
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]
    for case in CASES:
        for results in ranks:  # DDP averaged the gradients: each process holds those of the whole run
            assert_close_gradients(results[case]["gradients"], expected[case]["gradients"])
        # Each process logs its share; the Trainer logs their mean, which is the one-process loss.
        for name, value in expected[case]["losses"].items():
            mean = sum(results[case]["losses"][name] for results in ranks) / 2
            assert mean == pytest.approx(value, abs=1e-5), (case, name)


TINY_RUN = {
    **TINY_TR,
    "max_steps": 2,
    "dropout": 0.0,  # the same network in both runs (dropout masks are drawn per process)
}


def losses_logged(output: Path) -> list[float]:
    lines = (output / "train_log.jsonl").read_text().splitlines()
    return [record["loss"] for record in map(json.loads, lines) if "loss" in record]


def test_torchrun_two_processes_train_like_one(tmp_path, data_root):
    """``torchrun -m interlingua train`` with gathered negatives and GradCache: each process gets its
    half of every batch, and the run ends where a one-process run on the whole batches ends."""
    two = tmp_path / "two"
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in TINY_RUN.items()]
    command = [
        *(
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port",
            str(free_port()),
        ),
        *("-m", "interlingua", "train", *flags, "--gather-negatives", "--cache-chunk-size=4"),
        *(f"--data-root={data_root}", f"--output={two}", "--eval-langs=ang"),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:  # meanwhile, the reference: one process, the whole batches, no cache
        one, _ = train(
            build_config(overrides={**TINY_RUN, "data_root": str(data_root), "output": str(tmp_path / "one")})
        )
    finally:
        torch.set_num_threads(threads)
    output, _ = process.communicate(timeout=300)
    log = output.decode(errors="replace")
    assert process.returncode == 0, log[-3000:]

    assert "effective negatives per query: 15 (gathered across processes" in log
    assert losses_logged(two) == pytest.approx(losses_logged(one.output), abs=1e-5)
    expected, weights = (
        load_file(str(one.output / "model.safetensors")),
        load_file(str(two / "model.safetensors")),
    )
    assert max((expected[k] - weights[k]).abs().max().item() for k in expected) < 1e-5
    summary = json.loads((two / "training_summary.json").read_text())
    assert summary["negatives"] == {
        "processes": 2,
        "pairs_per_process": 8,
        "gather_negatives": True,
        "negatives_per_query": 15,
    }
    checkpoint = two / "checkpoints" / "checkpoint-2"
    assert {p.name for p in checkpoint.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    assert len(losses_logged(two)) == 2  # one process writes the log


def test_recipes_gather_where_their_papers_do_and_the_flags_exist():
    assert build_config(recipe="dap").gather_negatives is True
    assert build_config(recipe="ems").gather_negatives is False
    assert build_config().gather_negatives is False and build_config().cache_chunk_size is None
    from interlingua.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["train", "--gather-negatives", "--cache-chunk-size", "256"])
    assert (args.gather_negatives, args.cache_chunk_size) == (True, 256)
    assert parser.parse_args(["train", "--no-gather-negatives"]).gather_negatives is False


def test_the_objective_is_built_to_run_as_configured(tmp_path):
    tokenizer = train_tokenizer(SOURCES + TARGETS, vocab_size=120, languages=LANGUAGES[1:])
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=16, heads=2, ffn=32))
    config = build_config(recipe="tr", overrides={"cache_chunk_size": 64})
    loss = build_objective(model, config)
    assert (loss.cache_chunk_size, loss.gather_negatives) == (64, True)
    with pytest.raises(ConfigError, match="cache_chunk_size"):
        build_objective(model, build_config(recipe="tr", overrides={"cache_chunk_size": 0}))


def test_the_effective_negatives_are_stated():
    tokenizer = train_tokenizer(SOURCES + TARGETS, vocab_size=120, languages=LANGUAGES[1:])
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=16, heads=2, ffn=32))
    ranking, ems = TranslationRankingLoss(model), EMSLoss(model, LANGUAGES)
    gathered = negatives_summary(ranking, 4096, 8, gather=True)
    assert gathered == {
        "processes": 8,
        "pairs_per_process": 512,
        "gather_negatives": True,
        "negatives_per_query": 4095,
    }
    line = negatives_line(gathered)
    assert "effective negatives per query: 4095 (gathered across processes; batch 4096 pairs" in line
    assert "= 8 processes x 512 pairs" in line
    local = negatives_summary(ems, 1216, 8, gather=False)
    assert local["negatives_per_query"] == 151
    assert "151 (per process, not gathered" in negatives_line(local)
    assert negatives_summary(ranking, 128, 1, gather=True)["negatives_per_query"] == 127
    assert negatives_summary(CZNCELoss(model), 128, 1, gather=True)["negatives_per_query"] == 254
    assert negatives_summary(XTRLoss(model), 128, 1, gather=True)["negatives_per_query"] is None
    with pytest.raises(ConfigError, match="does not split evenly over 3 processes"):
        negatives_summary(ranking, 128, 3, gather=True)


def test_a_stream_gives_each_process_batches_of_its_own():
    tokenizer = train_tokenizer(SOURCES + TARGETS, vocab_size=120, languages=LANGUAGES[1:])
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=16, heads=2, ffn=32))
    summary = negatives_summary(TranslationRankingLoss(model), 128, 3, gather=True, split=False)
    assert (summary["pairs_per_process"], summary["negatives_per_query"]) == (128, 383)
