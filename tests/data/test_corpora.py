"""The training folders of the data root: layouts, macro-language labels, missing verses, errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from interlingua.data.corpora import DATA_ROOT_ENV, load_training_corpora, resolve_data_root
from interlingua.data.languages import UnknownLanguageError
from interlingua.data.textio import open_text_writer, read_lines
from interlingua.errors import ConfigError, DataError


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_text_writer(path) as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    return path


@pytest.fixture(scope="module")
def counts(data_root: Path) -> dict:
    return json.loads((data_root / "COUNTS.json").read_text())


def test_data_root_from_argument_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "absent"))
    assert resolve_data_root(tmp_path) == tmp_path
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    assert resolve_data_root(None) == tmp_path


def test_data_root_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"pass --data-root DIR or set the {DATA_ROOT_ENV}"):
        resolve_data_root(None)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_data_root(tmp_path / "absent")
    with pytest.raises(ConfigError, match="is not a folder"):
        resolve_data_root(write(tmp_path / "file", ["x"]))


def test_plain_tatoeba_challenge_language_is_read_whole(data_root: Path, counts: dict, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="interlingua.data.corpora"):
        [corpus] = load_training_corpora(data_root, ["de"], corpora=["tatoeba_challenge"])
    folder = data_root / "train_tatoeba_challenge_eng"
    assert (corpus.name, corpus.src_lang, corpus.tgt_lang) == ("tatoeba_challenge/deu-eng", "deu", "eng")
    assert len(corpus) == counts["train_tatoeba_challenge_eng"]["deu"] == 15941
    assert corpus.sources == tuple(str(folder / f"deu-eng.{side}.xz") for side in ("deu", "eng", "labels"))
    assert "tatoeba_challenge/deu-eng: 15941 pairs, 0 skipped (empty side)" in caplog.messages


def test_macro_language_file_is_split_by_labels(data_root: Path, counts: dict) -> None:
    labels = read_lines(data_root / "train_tatoeba_challenge_eng" / "zho-eng.labels.xz")
    [cmn] = load_training_corpora(data_root, ["cmn"], corpora=["tatoeba_challenge"])
    assert cmn.name == "tatoeba_challenge/zho-eng[cmn]"
    assert len(cmn) == sum(label.startswith("cmn") for label in labels) == 6703
    members = load_training_corpora(
        data_root, ["yue", "wuu", "lzh", "cjy", "gan", "nan"], corpora=["tatoeba_challenge"]
    )
    assert [corpus.src_lang for corpus in members] == ["yue", "wuu", "lzh", "cjy", "gan", "nan"]
    assert len(members[0]) == sum(label.startswith("yue") for label in labels)
    assert len(cmn) + sum(map(len, members)) == counts["train_tatoeba_challenge_eng"]["zho"]
    assert not set(cmn.src) & set(members[0].src)


def test_hbs_members_and_the_hbs_spelling(data_root: Path, counts: dict) -> None:
    corpora = load_training_corpora(data_root, ["srp", "hrv", "bos"], corpora=["tatoeba_challenge"])
    assert [corpus.name for corpus in corpora] == [
        f"tatoeba_challenge/hbs-eng[{code}]" for code in ("srp", "hrv", "bos")
    ]
    assert sum(map(len, corpora)) == counts["train_tatoeba_challenge_eng"]["hbs"]
    [hbs] = load_training_corpora(data_root, ["hbs"], corpora=["tatoeba_challenge"])
    assert hbs.src == corpora[0].src


def test_bible_missing_verses_are_counted_as_skipped(data_root: Path, counts: dict) -> None:
    [gla] = load_training_corpora(data_root, ["gd"], corpora=["bible"])
    verses = len(read_lines(data_root / "train_bible_nt" / "eng.txt.xz"))
    assert (gla.name, gla.src_lang, len(gla)) == ("bible/gla-eng", "gla", counts["train_bible_nt"]["gla"])
    assert gla.skipped_empty == verses - len(gla) == 7280


def test_every_folder_in_requested_order(data_root: Path) -> None:
    corpora = load_training_corpora(
        data_root, ["lvs", "ti"], corpora=["bible", "tico19", "wmt", "tatoeba_challenge"]
    )
    assert [corpus.name for corpus in corpora] == [
        "bible/lav-eng",
        "wmt/lv-eng",
        "tatoeba_challenge/lav-eng[lvs]",
        "tico19/ti-eng",
        "tico19/ti_ER-eng",
        "tico19/ti_ET-eng",
    ]
    assert all("/train_" in source for corpus in corpora for source in corpus.sources)
    assert [len(corpus) for corpus in corpora[-3:]] == [2100, 2100, 2100]


def test_pivot_in_the_request_is_the_other_side(data_root: Path) -> None:
    corpora = load_training_corpora(data_root, ["en", "pt_BR"], corpora=["tico19"], pivot="en")
    assert [(corpus.name, corpus.src_lang, corpus.tgt_lang) for corpus in corpora] == [
        ("tico19/pt_BR-eng", "por", "eng")
    ]


def test_language_without_training_data(data_root: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"no training data for ast \(Asturian\), csb \(Kashubian\): searched"
    ) as info:
        load_training_corpora(data_root, ["deu", "ast", "csb"])
    assert "train_tatoeba_challenge_eng" in str(info.value) and "train_bible_nt" in str(info.value)


def test_request_errors(data_root: Path) -> None:
    with pytest.raises(
        ConfigError, match="unknown training corpus 'flores'; valid names: tatoeba_challenge, wmt"
    ):
        load_training_corpora(data_root, ["deu"], corpora=["wmt", "flores"])
    with pytest.raises(UnknownLanguageError, match="'germn'"):
        load_training_corpora(data_root, ["germn"])
    with pytest.raises(ConfigError, match="pivot must be eng"):
        load_training_corpora(data_root, ["deu"], pivot="fra")
    with pytest.raises(ConfigError, match="no language to pair with the pivot"):
        load_training_corpora(data_root, ["en"])


def test_hand_made_tatoeba_folder(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "train_tatoeba_challenge_eng"
    write(folder / "deu-eng.deu.xz", ["Hallo", "Servus", ""])
    write(folder / "deu-eng.eng.xz", ["Hello", "Hi", "empty"])
    write(folder / "deu-eng.labels.xz", ["deu", "xyz_Latn", "deu"])  # an unknown label is the file's language
    write(folder / "qqq-eng.qqq.xz", ["?"])
    write(folder / "qqq-eng.eng.xz", ["?"])
    with caplog.at_level(logging.WARNING):
        [corpus] = load_training_corpora(tmp_path, ["deu"], corpora=["tatoeba_challenge"])
    assert (corpus.name, corpus.src, corpus.skipped_empty) == (
        "tatoeba_challenge/deu-eng",
        ["Hallo", "Servus"],
        1,
    )
    assert any(
        "qqq-eng.eng.xz: skipped, unknown language code 'qqq'" in message for message in caplog.messages
    )

    write(folder / "deu-eng.labels.xz", ["deu", "deu"])
    with pytest.raises(DataError, match="2 labels for the 3 lines of"):
        load_training_corpora(tmp_path, ["deu"], corpora=["tatoeba_challenge"])
    with pytest.raises(ConfigError, match="folder of training corpus 'wmt' not found"):
        load_training_corpora(tmp_path, ["deu"], corpora=["wmt"])
