"""Mining with a model: what a rerun reuses, blank lines, an empty input and an index too big for it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from interlingua.cli.main import main

SOURCE = "a small house\n\nthat is good\nein haus\n   \na house\n"
TARGET = "ein kleines haus\ndas ist gut\nthat is good\na small house\n"


def _mine(tmp_path: Path, model: Path, capsys, *extra: str, src: str = SOURCE) -> tuple[int, str]:
    for name, text in (("src.txt", src), ("tgt.txt", TARGET)):
        path = tmp_path / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:  # a rewrite is a new input
            path.write_text(text, encoding="utf-8")
    argv = [
        "mine",
        "--src",
        str(tmp_path / "src.txt"),
        "--tgt",
        str(tmp_path / "tgt.txt"),
        "--model",
        str(model),
    ]
    try:
        code = main([*argv, "--output", str(tmp_path / "pairs.tsv"), "--quiet", *extra])
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def _summary(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "pairs.tsv.json").read_text(encoding="utf-8"))


def test_blank_lines_are_not_mined_even_alone_in_a_batch(tmp_path, tiny_model, capsys) -> None:
    """A blank line alone in a batch was 'cannot reshape tensor of 0 elements'."""
    code, err = _mine(tmp_path, tiny_model, capsys, "--batch-size", "1")
    assert code == 0, err
    rows = [line.split("\t") for line in (tmp_path / "pairs.tsv").read_text().splitlines()]
    assert rows and all(row[1].strip() and row[2].strip() for row in rows)
    assert {row[3] for row in rows}.isdisjoint({"2", "5"})


def test_a_model_folder_with_new_files_is_encoded_again(tmp_path, tiny_model, capsys) -> None:
    """The embedding stage was keyed by the model's path: replacing the folder's files and mining
    again gave the old output, byte for byte, and said "reused"."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    assert _mine(tmp_path, model, capsys)[0] == 0
    first = (tmp_path / "pairs.tsv").read_text()
    replaced = SentenceTransformer(str(model), device="cpu")
    with torch.no_grad():
        for parameter in replaced.parameters():
            parameter.add_(torch.randn_like(parameter))
    replaced.save(str(model))
    assert _mine(tmp_path, model, capsys)[0] == 0
    assert _summary(tmp_path)["stages"]["embed"]["status"] == "computed"
    assert (tmp_path / "pairs.tsv").read_text() != first
    assert _mine(tmp_path, model, capsys)[0] == 0  # unchanged: reused
    assert _summary(tmp_path)["stages"]["embed"]["status"] == "reused"


def test_an_empty_source_is_one_line_and_keeps_the_previous_output(tmp_path, tiny_model, capsys) -> None:
    """It was a traceback, after the old TSV had been replaced by an empty one."""
    assert _mine(tmp_path, tiny_model, capsys)[0] == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("pairs.tsv", "pairs.tsv.json")}
    for text in ("", "\n  \n"):
        code, err = _mine(tmp_path, tiny_model, capsys, src=text)
        assert code == 2 and err.strip().endswith("src.txt: no non-blank line: nothing to mine"), err
        assert {name: (tmp_path / name).read_bytes() for name in before} == before


@pytest.mark.parametrize(
    ("index", "needed"), [("IVF4096,PQ32", "4,096"), ("IVF2,PQ8", "256"), ("PQ8", "256")]
)
def test_an_index_that_cannot_train_on_the_input_is_refused_before_encoding(
    tmp_path, tiny_model, capsys, index: str, needed: str
) -> None:
    """The example of `mine --help` was a raw FAISS error on a small input, after the encoding."""
    code, err = _mine(tmp_path, tiny_model, capsys, "--index", index)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert f"--index {index} needs at least {needed} vectors to train on, but only 4 are there" in lines[0]
    assert not list((tmp_path / "pairs.tsv.work").glob("embed*/src.progress.json"))


def test_index_params_without_an_index_is_refused(tmp_path, tiny_model, capsys) -> None:
    code, err = _mine(tmp_path, tiny_model, capsys, "--index-params", "nprobe=16")
    assert code == 2 and "--index-params needs --index" in err
    assert not (tmp_path / "pairs.tsv.work").exists()


def test_zero_vectors_of_blank_lines_have_no_neighbour_score() -> None:
    """The rule the encoders share: a blank input is a zero vector, never a match."""
    from interlingua.models.encode import non_blank_sentences, spread_rows

    distinct, rows = non_blank_sentences(["a", "", "a", " \t", "b"])
    assert distinct == ["a", "b"] and rows.tolist() == [0, -1, 0, -1, 1]
    vectors = spread_rows(np.eye(2, dtype=np.float32), rows, 2)
    assert vectors.tolist() == [[1, 0], [0, 0], [1, 0], [0, 0], [0, 1]]
