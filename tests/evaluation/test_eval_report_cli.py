"""Result files (provenance, layout), ``eval compare``, the plot, and the CLI on a tiny real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fakes import TableEncoder, write_xz_lines

from interlingua.atomic import sha256_file
from interlingua.evaluation.report import compare_table, load_result_file, write_json
from interlingua.evaluation.suite import run_suite


def _sts_root(tmp_path: Path) -> Path:
    rows = ["score\tsentence1\tsentence2", "5\tone\tuno", "1\ttwo\tdos", "3\tthree\ttres"]
    write_xz_lines(tmp_path / "sts17_semeval" / "sts17.track4a.es-en.tsv.xz", rows)
    return tmp_path


def test_provenance_keys_and_single_task_layout(tatoeba_slice_root, tmp_path):
    root = _sts_root(tatoeba_slice_root)
    encoder = TableEncoder({}, dim=8)
    model_file = tmp_path / "weights.bin"
    model_file.write_bytes(b"weights")
    result = run_suite(
        encoder,
        ["tatoeba", "sts17"],
        data_root=root,
        languages="deu,fra",
        task_languages={"sts17": "spa"},
        model_path=model_file,
        show_progress=False,
    )
    document = result.document()
    provenance = document["provenance"]
    assert set(provenance) >= {"model", "data_root", "data_files", "settings", "versions", "date", "encoding"}
    assert provenance["model"] == {
        "name": "table-encoder",
        "path": str(model_file.resolve()),
        "sha256": sha256_file(model_file.resolve()),
        "prefix": "",
    }
    tatoeba_file = "tatoeba_laser_v1/tatoeba.deu-eng.deu.xz"
    assert provenance["data_files"][tatoeba_file] == sha256_file(root / tatoeba_file)
    assert "sts17_semeval/sts17.track4a.es-en.tsv.xz" in provenance["data_files"]
    assert provenance["settings"]["languages"] == "deu,fra"
    assert provenance["settings"]["task_languages"] == {"sts17": "spa"}
    assert provenance["settings"]["tatoeba"]["retrieval"] == ["cosine", "margin"]
    assert provenance["versions"]["interlingua"]
    # 40 + 40 + 40 + 40 Tatoeba lines and 6 STS sentences, each encoded once (English lines repeat
    # across the two languages only if they are equal, and they are counted once).
    assert provenance["encoding"]["distinct_sentences"] == len(set(encoder_inputs(root)))
    assert set(document["tasks"]) == {"tatoeba", "sts17"}
    # One task alone: its block is the top level, with the contract's keys.
    single = run_suite(encoder, ["tatoeba"], data_root=root, languages="deu", show_progress=False).document()
    assert {"average", "per_language", "provenance", "summary"} <= set(single)
    assert set(single["per_language"]["deu"]) == {"pairs", "xx_to_eng", "eng_to_xx", "average"}
    assert single["average"] == pytest.approx(single["per_language"]["deu"]["average"])


def encoder_inputs(root: Path) -> list[str]:
    from interlingua.data.textio import read_lines

    sentences = []
    for path in sorted((root / "tatoeba_laser_v1").iterdir()):
        sentences += read_lines(path)
    return sentences + ["one", "uno", "two", "dos", "three", "tres"]


def test_each_distinct_sentence_is_encoded_once_across_tasks(tatoeba_slice_root):
    encoder = TableEncoder({}, dim=8)
    run_suite(
        encoder,
        ["tatoeba", "sts17"],
        data_root=_sts_root(tatoeba_slice_root),
        languages="deu,fra",
        task_languages={"sts17": "spa"},
        show_progress=False,
    )
    assert sum(encoder.calls) == len(set(encoder_inputs(tatoeba_slice_root)))


def _result_file(path: Path, model: str, average: float, languages: dict[str, float]) -> Path:
    block = {
        "task": "tatoeba",
        "protocol": "test",
        "metric": "average",
        "summary": {"average (2 languages)": average},
        "per_language": {code: {"average": value} for code, value in languages.items()},
        "provenance": {"model": {"name": model}},
    }
    write_json(block, path)
    return path


def test_compare_lines_up_numbers_and_marks_missing_ones(tmp_path):
    first = _result_file(tmp_path / "a.json", "model-a", 81.0, {"deu": 90.0, "fra": 72.0})
    second = _result_file(tmp_path / "b.json", "model-b", 50.0, {"deu": 50.0})
    table = compare_table([first, second], per_language=True)
    lines = table.splitlines()
    assert "[1] model-a" in lines[0] and "[2] model-b" in lines[0]
    assert lines[2].startswith("tatoeba: average (2 languages)") and lines[2].split()[-2:] == ["81.0", "50.0"]
    assert next(line for line in lines if line.startswith("tatoeba: fra")).split()[-2:] == ["72.0", "-"]


def test_compare_shows_each_runs_encoding_speed(tmp_path):
    first = _result_file(tmp_path / "a.json", "teacher", 92.0, {"deu": 92.0})
    second = _result_file(tmp_path / "b.json", "student", 90.0, {"deu": 90.0})
    for path, seconds in ((first, 50.0), (second, 5.0)):
        document = json.loads(path.read_text())
        document["provenance"]["encoding"] = {"distinct_sentences": 2000, "seconds": seconds}
        write_json(document, path)
    lines = compare_table([first, second]).splitlines()
    assert next(line for line in lines if line.startswith("encoding: sentences/s")).split()[-2:] == [
        "40.0",
        "400.0",
    ]
    assert next(line for line in lines if line.startswith("encoding: speed / [1]")).split()[-2:] == [
        "1.0",
        "10.0",
    ]


def test_compare_rejects_a_file_that_is_not_a_result(tmp_path):
    from interlingua.errors import DataError

    (tmp_path / "x.json").write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(DataError, match="not an interlingua evaluation result"):
        load_result_file(tmp_path / "x.json")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised one-layer BERT with a letter-level WordPiece vocabulary, mean pooling."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-model")
    letters = "abcdefghijklmnopqrstuvwxyzäöüßéèêàçôœ"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,!?'-", *letters, *(f"##{c}" for c in letters)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    hf_folder = folder / "hf"
    BertModel(config).save_pretrained(hf_folder)
    tokenizer.save_pretrained(hf_folder)
    transformer = Transformer(str(hf_folder), max_seq_length=64)
    model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")])
    model.save(str(folder / "st"))
    return folder / "st"


def _main(argv: list[str], monkeypatch) -> int:
    from interlingua.cli import main as cli_main

    monkeypatch.setattr(cli_main, "SUBCOMMAND_MODULES", ("evaluate",))
    return cli_main.main(argv)


def test_cli_tatoeba_on_a_tiny_model(tiny_model, tatoeba_slice_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTERLINGUA_DATA", str(tatoeba_slice_root))
    output, plot = tmp_path / "result.json", tmp_path / "plot.png"
    argv = ["eval", "tatoeba", "--model", str(tiny_model), "--langs", "deu,fra", "--output", str(output)]
    assert _main([*argv, "--plot", str(plot), "--quiet"], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "Tatoeba (top-1 by cosine)" in printed and "xtreme36 average (2 of 36)" in printed
    document = json.loads(output.read_text(encoding="utf-8"))
    assert set(document["per_language"]) == {"deu", "fra"}
    assert 0.0 <= document["average"] <= 100.0
    assert document["provenance"]["model"]["sha256"]
    assert plot.stat().st_size > 1000
    assert _main(["eval", "compare", str(output), str(output)], monkeypatch) == 0
    assert "xtreme36 average (2 of 36)" in capsys.readouterr().out


def test_cli_user_errors_exit_2_with_one_line(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INTERLINGUA_DATA", raising=False)
    assert _main(["eval", "tatoeba", "--model", str(tiny_model), "--quiet"], monkeypatch) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("interlingua eval: error:") and "INTERLINGUA_DATA" in error
    assert len(error.splitlines()) == 1  # the data root is checked before the model loads
    (tmp_path / "tatoeba_laser_v1").mkdir()
    argv = ["eval", "tatoeba", "--model", str(tiny_model), "--data-root", str(tmp_path), "--langs", "klingon"]
    assert _main(argv, monkeypatch) == 2
    assert "interlingua eval: error: unknown language code 'klingon'" in capsys.readouterr().err
