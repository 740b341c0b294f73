"""``interlingua train --pairs PATH``: a user's own parallel text, alone or with the shared corpora.

The README's quickstart is run as written (with a tiny model and two steps instead of 20 minutes).
"""

from __future__ import annotations

import lzma
import re
import shlex
from pathlib import Path

import pytest
from training_tiny import as_flags

from interlingua.cli.main import main
from interlingua.errors import DataError
from interlingua.training.config import build_config
from interlingua.training.data import load_corpora

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = {"layers": 1, "hidden": 32, "heads": 2, "ffn": 64, "vocab_size": 300, "batch_size": 8}
WORDS = ["haus", "katze", "baum", "wasser", "buch", "stadt", "hund", "licht"]


def _lines(prefix: str, count: int = 40) -> str:
    return "".join(f"{prefix} {WORDS[i % 8]} {WORDS[(i * 3) % 8]} {i}\n" for i in range(count))


def make_my_data(folder: Path) -> Path:
    """The README's ``my-data/``: de-en as plain aligned files, sw-en compressed, and a TSV."""
    folder.mkdir(parents=True)
    (folder / "de-en.de").write_text(_lines("das"), encoding="utf-8")
    (folder / "de-en.en").write_text(_lines("the"), encoding="utf-8")
    (folder / "sw-en.sw.xz").write_bytes(lzma.compress(_lines("ni").encode()))
    (folder / "sw-en.en.xz").write_bytes(lzma.compress(_lines("it is").encode()))
    return folder


def _names(config) -> list[tuple[str, str, int]]:
    return sorted((c.name, c.src_lang, len(c)) for c in load_corpora(config))


def test_a_folder_a_tsv_and_one_file_of_an_aligned_pair(tmp_path) -> None:
    data = make_my_data(tmp_path / "my-data")
    assert _names(build_config(overrides={"pairs": str(data)})) == [
        ("my-data/de-en", "deu", 40),
        ("my-data/sw-en", "swh", 40),
    ]
    tsv = tmp_path / "fr-en.tsv"
    tsv.write_text("".join(f"bonjour {i}\thello {i}\n" for i in range(5)), encoding="utf-8")
    pairs = f"{tsv},{data / 'sw-en.sw.xz'}"
    assert _names(build_config(overrides={"pairs": pairs})) == sorted(
        [(f"{tmp_path.name}/fr-en", "fra", 5), ("my-data/sw-en", "swh", 40)]
    )


def test_pairs_mixed_with_the_shared_corpora(tmp_path, data_root) -> None:
    data = make_my_data(tmp_path / "my-data")
    config = build_config(
        overrides={
            "pairs": str(data / "de-en.de"),
            "langs": "fra",
            "corpora": "tico19",
            "data_root": str(data_root),
        }
    )
    languages = [c.src_lang for c in load_corpora(config)]
    assert languages[0] == "deu" and "fra" in languages


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("absent", "no such file or folder"),
        ("notes.txt", "expected a folder, xx-yy.tsv, or one of xx-yy.xx"),
        ("de-fr.de", "the pair de-fr has no eng side"),
        ("de-en.de", "no partner file de-en.en beside it"),
    ],
)
def test_bad_pairs_are_refused_before_any_work(tmp_path, name: str, problem: str) -> None:
    (tmp_path / "notes.txt").write_text("x\n")
    (tmp_path / "de-fr.de").write_text("x\n")
    if name == "de-en.de":
        (tmp_path / name).write_text("x\n")
    with pytest.raises(DataError, match=re.escape(problem)):
        build_config(overrides={"pairs": str(tmp_path / name)})


def _readme_train_command() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [
        line for line in text.splitlines() if line.strip().startswith("interlingua train --recipe tr --pairs")
    ]
    return shlex.split(line)[1:]


def test_the_readme_quickstart_trains_on_my_data(
    tmp_path, data_root, monkeypatch, capsys, one_thread
) -> None:
    monkeypatch.chdir(tmp_path)
    make_my_data(tmp_path / "my-data")
    argv = [arg.replace("../shared/data", str(data_root)) for arg in _readme_train_command()]
    # Tiny and two steps instead of the README's 20 minutes; the rest as written.
    assert main([*argv, *as_flags({**TINY_MODEL, "max_steps": 2, "max_pairs_per_language": 40})]) == 0
    model = tmp_path / "runs" / "my-encoder"
    assert (model / "model.safetensors").is_file()
    summary = (model / "training_summary.json").read_text(encoding="utf-8")
    for corpus in ('"my-data/de-en"', '"my-data/sw-en"'):
        assert corpus in summary
    assert "deu" in (model / "tatoeba_results.json").read_text(encoding="utf-8")


def test_pairs_alone_without_a_data_root(tmp_path, monkeypatch, one_thread) -> None:
    """No data root: the run trains on the folder and skips the Tatoeba scoring it cannot do."""
    monkeypatch.delenv("INTERLINGUA_DATA", raising=False)
    data = make_my_data(tmp_path / "my-data")
    flags = as_flags({**TINY_MODEL, "pairs": data, "max_steps": 2, "output": tmp_path / "run"})
    assert main(["train", *flags]) == 0
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert not (tmp_path / "run" / "tatoeba_results.json").exists()
