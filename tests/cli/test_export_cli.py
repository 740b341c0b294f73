"""``interlingua export``: the folder it writes works with ``encode`` unchanged, the check runs on the
real Tatoeba files, and mistakes stop with one line before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from interlingua.cli.main import main
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
from interlingua.models.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    texts = ["ein kleines haus", "a small house", "das ist gut", "that is good"] * 20
    model = build_scratch_encoder(
        train_tokenizer(texts, vocab_size=120), EncoderConfig(layers=1, hidden=32, heads=2, ffn=64)
    )
    folder = tmp_path_factory.mktemp("tiny") / "model"
    model.save(str(folder))
    return folder


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, list[str]]:
    """Exit code, stdout and the stderr lines (progress bars left out) of ``interlingua ARGV``."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.strip() and "it/s]" not in line]
    return code, captured.out, errors


def test_export_then_encode(model_dir, tmp_path, capsys):
    code, out, _ = run(
        ["export", "onnx", "--model", str(model_dir), "--output", str(tmp_path / "x"), "--no-check"], capsys
    )
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'x'} (onnx, opset 17, 32-d")
    (tmp_path / "in.txt").write_text("das ist gut\n\na small house\n", encoding="utf-8")
    argv = ["encode", "--model", str(tmp_path / "x"), "--input", str(tmp_path / "in.txt")]
    assert run([*argv, "--output", str(tmp_path / "v.npy")], capsys)[0] == 0
    vectors = np.load(tmp_path / "v.npy")
    assert vectors.shape == (3, 32) and np.isfinite(vectors).all()


def test_export_with_check_on_tatoeba(model_dir, data_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INTERLINGUA_DATA", str(data_root))
    argv = ["export", "onnx", "--model", str(model_dir), "--output", str(tmp_path / "x"), "--int8"]
    code, out, _ = run([*argv, "--check-langs", "deu", "--repeats", "1", "--threads", "1"], capsys)
    assert code == 0, out
    assert "pytorch fp32" in out and "onnx int8" in out and "sentences/s" in out
    check = json.loads((tmp_path / "x" / "interlingua_export.json").read_text())["check"]
    assert check["languages"] == ["deu"] and check["sentences"] > 1000
    assert abs(check["delta_points"]) < 5  # a random model scores near 0 either way; int8 cannot move it far


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["onnx", "--model", "{tmp}/missing", "--no-check"], "{tmp}/missing: no such folder"),
        (
            ["onnx", "--model", "{model}", "--data-root", "{tmp}/nodata"],
            "(or skip the check with --no-check)",
        ),
        (["onnx", "--model", "{model}", "--no-check", "--max-length", "500"], "--max-length 500 is outside"),
        (["tflite", "--model", "{model}"], "invalid choice: 'tflite'"),
    ],
)
def test_mistakes_are_one_line(model_dir, tmp_path, capsys, argv, message):
    fill = {"tmp": tmp_path, "model": model_dir}
    argv = [part.format(**fill) for part in argv]
    code, _, errors = run(["export", *argv, "--output", str(tmp_path / "out")], capsys)
    assert code == 2 and len(errors) == 1, errors
    assert errors[0].startswith("interlingua export") and message.format(**fill) in errors[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
