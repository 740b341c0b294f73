"""Bad inputs give one clear line on stderr and exit code 2, before any long work."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from interlingua.cli.main import main

from .synthetic import Corpus


def mine_args(corpus: Corpus, output: Path) -> list[str]:
    return [
        "mine",
        "--src",
        str(corpus.src_text),
        "--tgt",
        str(corpus.tgt_text),
        "--src-embeddings",
        str(corpus.src_npy),
        "--tgt-embeddings",
        str(corpus.tgt_npy),
        "--output",
        str(output),
        "--quiet",
    ]


def fewer_embeddings(corpus: Corpus, args: list[str]) -> list[str]:
    np.save(corpus.src_npy, corpus.src[:-1])
    return args


def other_dimension(corpus: Corpus, args: list[str]) -> list[str]:
    np.save(corpus.tgt_npy, corpus.tgt[:, :8])
    return args


def missing_text(corpus: Corpus, args: list[str]) -> list[str]:
    corpus.src_text.unlink()
    return args


def missing_embeddings(corpus: Corpus, args: list[str]) -> list[str]:
    corpus.tgt_npy.unlink()
    return args


def text_as_embeddings(corpus: Corpus, args: list[str]) -> list[str]:
    corpus.src_npy.write_text("not an array\n")
    return args


def vector_not_matrix(corpus: Corpus, args: list[str]) -> list[str]:
    np.save(corpus.src_npy, corpus.src[:, 0])
    return args


def nan_embedding(corpus: Corpus, args: list[str]) -> list[str]:
    broken = corpus.src.copy()
    broken[4, 2] = np.nan
    np.save(corpus.src_npy, broken)
    return args


def invalid_utf8(corpus: Corpus, args: list[str]) -> list[str]:
    lines = corpus.src_text.read_bytes().split(b"\n")
    lines[2] = b"caf\xe9"
    corpus.src_text.write_bytes(b"\n".join(lines))
    return args


def bucc_line_without_id(corpus: Corpus, args: list[str]) -> list[str]:
    return [*args, "--id-column"]


def model_and_embeddings(corpus: Corpus, args: list[str]) -> list[str]:
    return [*args, "--model", "some-model"]


def no_output(corpus: Corpus, args: list[str]) -> list[str]:
    return args[: args.index("--output")] + ["--quiet"]


def unreadable_memory(corpus: Corpus, args: list[str]) -> list[str]:
    return [*args, "--max-memory", "lots"]


def memory_too_small(corpus: Corpus, args: list[str]) -> list[str]:
    return [*args, "--max-memory", "10M"]


def unknown_index(corpus: Corpus, args: list[str]) -> list[str]:
    return [*args, "--index", "IVF,Nonsense"]


def raw_size_mismatch(corpus: Corpus, args: list[str]) -> list[str]:
    corpus.src.tofile(corpus.src_npy)  # LASER's raw float32: 600 x 16 values, not rows of 7
    return [*args, "--dim", "7"]


def missing_output_folder(corpus: Corpus, args: list[str]) -> list[str]:
    position = args.index("--output") + 1
    args[position] = str(corpus.src_text.parent / "no-such-folder" / "pairs.tsv")
    return args


CASES: list[tuple[Callable, str]] = [
    (fewer_embeddings, r"src\.npy: 599 embeddings, but .*src\.txt has 600 lines"),
    (other_dimension, r"tgt\.npy: embedding dimension 8 differs from the source embeddings' 16"),
    (missing_text, r"src\.txt: file not found"),
    (missing_embeddings, r"tgt\.npy: file not found"),
    (text_as_embeddings, r"src\.npy: not a \.npy array file .*give --dim"),
    (vector_not_matrix, r"src\.npy: expected a 2-D float matrix, found shape \(600,\)"),
    (nan_embedding, r"src\.npy:5: embedding contains NaN or infinity"),
    (invalid_utf8, r"src\.txt:3: invalid UTF-8"),
    (bucc_line_without_id, r"src\.txt:1: expected ID<TAB>sentence \(the BUCC format\)"),
    (model_and_embeddings, r"give either a model or precomputed embeddings"),
    (no_output, r"missing --output"),
    (unreadable_memory, r"cannot read memory size 'lots'"),
    (memory_too_small, r"argument --max-memory: must be more than 64 MiB, not 10M"),
    (unknown_index, r"--index 'IVF,Nonsense': FAISS cannot build it"),
    (raw_size_mismatch, r"src\.npy: size 38400 bytes is not a whole number of float32 rows of dimension 7"),
    (missing_output_folder, r"pairs\.tsv: the folder .*no-such-folder does not exist"),
]


@pytest.mark.parametrize(("breakage", "message"), CASES, ids=[case[0].__name__ for case in CASES])
def test_bad_input_is_one_clear_line(corpus: Corpus, tmp_path: Path, capsys, breakage, message) -> None:
    args = breakage(corpus, mine_args(corpus, tmp_path / "pairs.tsv"))
    try:
        code = main(args)
    except SystemExit as exit_:  # a mistake argparse finds
        code = exit_.code
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert error.startswith("interlingua mine: error: ")
    assert re.search(message, error), error


@pytest.mark.parametrize(
    ("gold_text", "message"),
    [
        ("zh-1 en-1\n", r"gold\.tsv:1: expected source-ID<TAB>target-ID"),
        ("zh-9\ten-9\n", r"gold\.tsv: no candidate is a gold pair: do the ids of the pairs and of the gold"),
        ("", r"gold\.tsv: the gold file holds no pairs"),
    ],
)
def test_bad_calibration_input(corpus: Corpus, tmp_path: Path, capsys, gold_text: str, message: str) -> None:
    pairs = tmp_path / "pairs.tsv"
    assert main(mine_args(corpus, pairs)) == 0
    (tmp_path / "gold.tsv").write_text(gold_text)
    capsys.readouterr()
    assert main(["mine", "calibrate", "--pairs", str(pairs), "--gold", str(tmp_path / "gold.tsv")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and re.search(message, error), error


def test_bad_pairs_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "pairs.tsv").write_text("0.5\tonly three\tfields\n")
    (tmp_path / "gold.tsv").write_text("a\tb\n")
    pairs, gold = str(tmp_path / "pairs.tsv"), str(tmp_path / "gold.tsv")
    assert main(["mine", "calibrate", "--pairs", pairs, "--gold", gold]) == 2
    assert "pairs.tsv:1: expected 5 tab-separated fields" in capsys.readouterr().err
