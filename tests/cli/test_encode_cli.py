"""``interlingua encode``: blank lines, the file it writes, and a failed write."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from interlingua.cli.main import main


def _encode(tmp_path: Path, model: Path, text: str, output: str, capsys, *extra: str) -> tuple[int, str, str]:
    source = tmp_path / "in.txt"
    source.write_text(text, encoding="utf-8")
    try:
        code = main(["encode", "--model", str(model), "--input", str(source), "--output", output, *extra])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_blank_lines_get_zero_vectors_even_alone_in_a_batch(tmp_path, tiny_model, capsys) -> None:
    """An empty line alone in a batch was 'cannot reshape tensor of 0 elements'; empty lines were
    zero vectors while whitespace-only ones got a real vector."""
    output = tmp_path / "vectors.npy"
    code, _, err = _encode(
        tmp_path, tiny_model, "ein haus\n\n   \nthat is good\n", str(output), capsys, "--batch-size", "1"
    )
    assert code == 0, err
    vectors = np.load(output)
    assert vectors.shape == (4, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), [1, 0, 0, 1], atol=1e-5)


def test_a_file_of_blank_lines_is_one_line(tmp_path, tiny_model, capsys) -> None:
    code, _, err = _encode(tmp_path, tiny_model, "\n \n", str(tmp_path / "v.npy"), capsys)
    assert code == 2 and err.strip().endswith("in.txt: all 2 lines are blank: nothing to encode"), err
    assert not (tmp_path / "v.npy").exists()


def test_the_file_written_is_the_one_named_and_printed(tmp_path, tiny_model, capsys) -> None:
    """np.save appends .npy to a name without it, while the message named the name given."""
    output = tmp_path / "vectors.bin"
    code, out, _ = _encode(tmp_path, tiny_model, "ein haus\n", str(output), capsys)
    assert code == 0 and out.strip() == f"wrote 1 x 32 embeddings to {output}"
    assert np.load(output).shape == (1, 32) and not Path(f"{output}.npy").exists()


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("absent/v.npy", "the folder {tmp}/absent does not exist"),
        (".", "is a folder; give a file name"),
        ("in.txt/v.npy", "{tmp}/in.txt is a file, not a folder"),
    ],
)
def test_output_mistakes_are_found_before_the_model_loads(tmp_path, capsys, output, problem) -> None:
    code, _, err = _encode(tmp_path, tmp_path / "no-model", "x\n", str(tmp_path / output), capsys)
    assert code == 2 and problem.format(tmp=tmp_path) in err, err


def test_a_failed_write_keeps_the_previous_file(tmp_path, tiny_model) -> None:
    """np.save wrote in place: a full disk or a file-size limit destroyed the previous good file."""
    output = tmp_path / "vectors.npy"
    previous = np.arange(64, dtype=np.float32).reshape(2, 32)
    np.save(output, previous)
    (tmp_path / "in.txt").write_text("ein haus\n" * 50, encoding="utf-8")

    def limit_file_size() -> None:  # Python ignores SIGXFSZ: a write over the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    argv = [
        "encode",
        "--model",
        str(tiny_model),
        "--input",
        str(tmp_path / "in.txt"),
        "--output",
        str(output),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "interlingua", *argv],
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
    )
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert done.returncode == 2 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].startswith(f"interlingua encode: error: cannot write {output}: ")
    assert errors[0].endswith("; any previous vectors.npy is unchanged")
    assert np.array_equal(np.load(output), previous)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_truncated_and_unreadable_inputs_are_counted(tmp_path, tiny_model, capsys) -> None:
    """Both are encoded without an error into vectors that say little: the user is told how many."""
    text = "ein haus\n" + "ein kleines haus " * 40 + "\nภาษาไทย\nthat is good\n"
    code, _, err = _encode(tmp_path, tiny_model, text, str(tmp_path / "v.npy"), capsys)
    assert code == 0
    assert "in.txt: 1 of 4 lines truncated to the model's 64 pieces; 1 of only unknown pieces" in err
