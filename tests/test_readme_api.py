"""The README's Python examples run as written: an interlingua loss in a plain sentence-transformers
training script, then an interlingua evaluator scoring the model it saved (with a tiny model in
place of the hub's, and the test data root)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
HUB_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"


def python_examples() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## In your own sentence-transformers script")[1]
    section = section.split("\n## ")[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_trains_with_an_interlingua_loss_and_scores_with_an_evaluator(
    tiny_model: Path, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    training, scoring = python_examples()
    assert HUB_MODEL in training
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INTERLINGUA_DATA", str(data_root))
    exec(compile(training.replace(HUB_MODEL, str(tiny_model)), "README training", "exec"), {})
    assert (tmp_path / "my-encoder" / "modules.json").is_file()
    assert (tmp_path / "checkpoints" / "checkpoint-2").is_dir()
    capsys.readouterr()  # the Trainer prints its metrics
    exec(compile(scoring, "README scoring", "exec"), {})
    average, german = (float(value) for value in capsys.readouterr().out.split())
    assert 0.0 <= german <= 100.0 and 0.0 <= average <= 100.0


def test_the_public_names_import_from_their_packages() -> None:
    import interlingua.evaluation
    import interlingua.losses
    import interlingua.mining
    import interlingua.models

    for package in (interlingua.losses, interlingua.models, interlingua.evaluation, interlingua.mining):
        assert package.__all__ and all(getattr(package, name) for name in package.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        interlingua.losses.Nothing  # noqa: B018
