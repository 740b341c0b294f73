"""The output folder of ``interlingua train``: nothing in it is silently reused or lost.

A tokenizer left by another run is never reused for other settings, a finished model is not
overwritten, a run that fails keeps the folder's previous files, and a failed final write is one
line that leaves the checkpoints to resume from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from safetensors import SafetensorError
from sentence_transformers import SentenceTransformer
from training_tiny import TINY_TR, as_flags

from interlingua.atomic import TEMPORARY_MARK
from interlingua.cli.main import main
from interlingua.errors import ConfigError
from interlingua.models.tokenizer import save_tokenizer, train_tokenizer
from interlingua.training.checkpoints import CHECKPOINTS
from interlingua.training.config import build_config
from interlingua.training.setup import TOKENIZER
from interlingua.training.trainer import train

TINY = {**TINY_TR, "max_steps": 2}


def _config(tmp_path: Path, data_root: Path, **overrides):
    values = {**TINY, "data_root": str(data_root), "output": str(tmp_path / "run"), **overrides}
    return build_config(overrides=values)


def _cli(argv: list[str], capsys) -> tuple[int, list[str]]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, [line for line in capsys.readouterr().err.splitlines() if "error:" in line]


def test_a_tokenizer_left_by_another_run_is_not_reused(tmp_path, data_root, one_thread) -> None:
    """Asked for 300 pieces, the model got the leftover's vocabulary while the config said 300."""
    leftover = train_tokenizer([f"word{i} other{i} thing{i}" for i in range(3000)], vocab_size=2000)
    save_tokenizer(leftover, tmp_path / "run" / TOKENIZER)
    assert len(leftover) > 1000
    run, model = train(_config(tmp_path, data_root, vocab_size=300))
    assert len(model.tokenizer) <= 300
    assert len(SentenceTransformer(str(run.output), device="cpu").tokenizer) <= 300
    assert yaml.safe_load((run.output / "train_config.yaml").read_text())["vocab_size"] == 300


def test_resuming_with_other_tokenizer_settings_is_refused(tmp_path, data_root, one_thread) -> None:
    train(_config(tmp_path, data_root, vocab_size=300))
    with pytest.raises(ConfigError, match="other tokenizer settings or data than this config"):
        train(_config(tmp_path, data_root, vocab_size=400, max_steps=4, resume=True))


def test_a_finished_model_is_not_overwritten(tmp_path, data_root, one_thread, capsys) -> None:
    """A folder holding a model but no checkpoints (copied, or its checkpoints deleted)."""
    run, _ = train(_config(tmp_path, data_root))
    shutil.rmtree(run.output / CHECKPOINTS)
    weights = (run.output / "model.safetensors").read_bytes()
    code, errors = _cli(
        ["train", *as_flags(TINY), f"--data-root={data_root}", f"--output={run.output}"], capsys
    )
    assert code == 2 and len(errors) == 1
    assert errors[0].endswith("holds a trained model: pass another --output (or --resume to finish its run)")
    assert (run.output / "model.safetensors").read_bytes() == weights


def test_a_failed_run_keeps_the_previous_train_config(tmp_path, data_root, capsys) -> None:
    """The config is written with the model: a run that fails before leaves the old one."""
    output = tmp_path / "run"
    output.mkdir()
    (output / "train_config.yaml").write_text("earlier run\n")
    # tico19 has no Esperanto: the run fails while reading its data.
    flags = [*as_flags({**TINY, "langs": "epo"}), f"--data-root={data_root}", f"--output={output}"]
    code, errors = _cli(["train", *flags], capsys)
    assert code == 2 and len(errors) == 1
    assert (output / "train_config.yaml").read_text() == "earlier run\n"


def test_a_failed_final_write_is_one_line_and_keeps_the_checkpoints(
    tmp_path, data_root, one_thread, capsys, monkeypatch
) -> None:
    """safetensors reports a full disk or a file-size limit with its own exception type."""

    def failing_save(self, path, *args, **kwargs):
        if TEMPORARY_MARK not in Path(path).name:  # a checkpoint: written as usual
            return save(self, path, *args, **kwargs)
        (Path(path) / "model.safetensors").write_bytes(b"half a model")
        raise SafetensorError("Error while serializing: IoError(Os { code: 27, kind: FileTooLarge })")

    save = SentenceTransformer.save
    monkeypatch.setattr(SentenceTransformer, "save", failing_save)
    output = tmp_path / "run"
    code, errors = _cli(["train", *as_flags(TINY), f"--data-root={data_root}", f"--output={output}"], capsys)
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith(
        f"interlingua train: error: cannot write in {output}: Error while serializing"
    )
    assert errors[0].endswith("are intact: fix this and rerun with --resume")
    assert not (output / "model.safetensors").exists()
    assert sorted(p.name for p in output.iterdir() if p.name.startswith(".")) == []
    assert any((output / CHECKPOINTS).iterdir())
