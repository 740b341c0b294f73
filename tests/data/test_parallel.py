"""Parallel-corpus readers: aligned files, TSV, folders; every error a user's files can cause."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlingua.data.languages import UnknownLanguageError
from interlingua.data.parallel import (
    ParallelCorpus,
    read_parallel_files,
    read_parallel_folder,
    read_parallel_tsv,
)
from interlingua.data.textio import open_text_writer
from interlingua.errors import DataError


def write(path: Path, lines: list[str]) -> Path:
    """A text file of ``lines``, compressed by the path's suffix."""
    with open_text_writer(path) as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    return path


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz", ".bz2"])
def test_files_round_trip(tmp_path: Path, suffix: str) -> None:
    src = write(tmp_path / f"de-en.de{suffix}", ["Hallo Welt", "Guten Tag"])
    tgt = write(tmp_path / f"de-en.en{suffix}", ["Hello world", "Good day"])
    corpus = read_parallel_files(src, tgt, "de", "en")
    assert corpus == ParallelCorpus(
        name="deu-eng",
        src_lang="deu",
        tgt_lang="eng",
        src=["Hallo Welt", "Guten Tag"],
        tgt=["Hello world", "Good day"],
        sources=(str(src), str(tgt)),
        skipped_empty=0,
    )
    assert len(corpus) == 2


def test_crlf_and_bom_are_removed(tmp_path: Path) -> None:
    src = tmp_path / "a.de"
    src.write_bytes(b"\xef\xbb\xbfHallo\r\nWelt\r\n")
    tgt = write(tmp_path / "a.en", ["Hello", "World"])
    assert read_parallel_files(src, tgt, "deu", "eng", name="mine").src == ["Hallo", "Welt"]


@pytest.mark.parametrize("longer_side", ["src", "tgt"])
def test_mismatched_line_counts_name_both_files_and_counts(tmp_path: Path, longer_side: str) -> None:
    long = write(tmp_path / "long.txt", ["a", "b", "c", "d"])
    short = write(tmp_path / "short.txt", ["A", "B"])
    src, tgt = (long, short) if longer_side == "src" else (short, long)
    with pytest.raises(DataError) as info:
        read_parallel_files(src, tgt, "de", "en")
    message = str(info.value)
    assert f"{src} has {4 if longer_side == 'src' else 2} lines" in message
    assert f"{tgt} has {2 if longer_side == 'src' else 4}" in message
    assert info.value.path == str(long)
    assert info.value.line == 3  # the first line without a counterpart


def test_empty_and_whitespace_only_sides_are_skipped_and_counted(tmp_path: Path) -> None:
    src = write(tmp_path / "x.de", ["eins", "", " \t ", "vier", "fünf"])
    tgt = write(tmp_path / "x.en", ["one", "two", "three", "\u3000", "five"])
    corpus = read_parallel_files(src, tgt, "de", "en")
    assert (corpus.src, corpus.tgt, corpus.skipped_empty) == (["eins", "fünf"], ["one", "five"], 3)


def test_no_non_empty_pair_is_an_error(tmp_path: Path) -> None:
    src = write(tmp_path / "x.de", ["", "zwei"])
    tgt = write(tmp_path / "x.en", ["one", "  "])
    with pytest.raises(DataError, match="no non-empty pairs"):
        read_parallel_files(src, tgt, "de", "en")


def test_empty_files_are_an_error(tmp_path: Path) -> None:
    src, tgt = tmp_path / "x.de", tmp_path / "x.en"
    src.write_bytes(b"")
    tgt.write_bytes(b"")
    with pytest.raises(DataError, match=r"no non-empty pairs \(0 lines read"):
        read_parallel_files(src, tgt, "de", "en")


@pytest.mark.parametrize(
    ("raw", "problem"), [(b"ok\nbad \xff\xfe bytes\n", "invalid UTF-8"), (b"ok\nnul\x00byte\n", "NUL byte")]
)
def test_bad_bytes_are_located(tmp_path: Path, raw: bytes, problem: str) -> None:
    src = tmp_path / "x.de"
    src.write_bytes(raw)
    tgt = write(tmp_path / "x.en", ["ok", "fine"])
    with pytest.raises(DataError, match=problem) as info:
        read_parallel_files(src, tgt, "de", "en")
    assert (info.value.path, info.value.line) == (str(src), 2)


def test_keep_lines_selects_by_line_number(tmp_path: Path) -> None:
    src = write(tmp_path / "x.de", ["a", "b", "", "d"])
    tgt = write(tmp_path / "x.en", ["A", "B", "C", "D"])
    corpus = read_parallel_files(src, tgt, "de", "en", keep_lines=lambda number: number != 2)
    assert (corpus.src, corpus.skipped_empty) == (["a", "d"], 1)
    with pytest.raises(DataError, match="4 not selected"):
        read_parallel_files(src, tgt, "de", "en", keep_lines=lambda number: False)


def test_unknown_language_code(tmp_path: Path) -> None:
    src = write(tmp_path / "x.de", ["a"])
    with pytest.raises(UnknownLanguageError, match="'dee'; did you mean: "):
        read_parallel_files(src, src, "dee", "en")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_tsv_round_trip(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"pairs.tsv{suffix}", ["Hallo\tHello", "\tnothing", "Tag\tDay"])
    corpus = read_parallel_tsv(path, "deu", "en", name="pairs")
    assert (corpus.name, corpus.src_lang, corpus.tgt_lang) == ("pairs", "deu", "eng")
    assert (corpus.src, corpus.tgt, corpus.skipped_empty, corpus.sources) == (
        ["Hallo", "Tag"],
        ["Hello", "Day"],
        1,
        (str(path),),
    )


@pytest.mark.parametrize(("bad_line", "fields"), [("a\tb\tc", 3), ("no tab here", 1), ("", 1)])
def test_tsv_line_without_two_fields_is_located(tmp_path: Path, bad_line: str, fields: int) -> None:
    path = write(tmp_path / "pairs.tsv", ["a\tA", bad_line, "c\tC"])
    with pytest.raises(DataError, match=f"expected 2 tab-separated fields .*, found {fields}") as info:
        read_parallel_tsv(path, "de", "en")
    assert (info.value.path, info.value.line) == (str(path), 2)


def test_tsv_of_empty_pairs_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.tsv", ["a\t ", "\tB"])
    with pytest.raises(DataError, match="no non-empty pairs"):
        read_parallel_tsv(path, "de", "en")


def test_folder_of_split_files_and_tsv(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder / "de-en.de.xz", ["Hallo", "Tag"])
    write(folder / "de-en.en.xz", ["Hello", "Day"])
    write(folder / "de-en.src", ["meta", "data"])  # not a side of the pair: ignored
    write(folder / "fr-en.tsv.gz", ["Bonjour\tHello"])
    write(folder / "README", ["notes"])
    corpora = read_parallel_folder(folder)
    assert [(c.name, c.src_lang, c.tgt_lang, c.src, c.tgt) for c in corpora] == [
        ("mine/de-en", "deu", "eng", ["Hallo", "Tag"], ["Hello", "Day"]),
        ("mine/fr-en", "fra", "eng", ["Bonjour"], ["Hello"]),
    ]


def test_folder_pivot_turns_pairs_and_skips_others(tmp_path: Path) -> None:
    write(tmp_path / "en-fr.en", ["Hello"])
    write(tmp_path / "en-fr.fr", ["Bonjour"])
    write(tmp_path / "de-fr.tsv", ["Hallo\tBonjour"])
    write(tmp_path / "de-en.tsv", ["Hallo\tHello"])
    corpora = read_parallel_folder(tmp_path, pivot="eng")
    assert [(c.src_lang, c.tgt_lang, c.src, c.tgt) for c in corpora] == [
        ("deu", "eng", ["Hallo"], ["Hello"]),
        ("fra", "eng", ["Bonjour"], ["Hello"]),
    ]
    with pytest.raises(DataError, match="no parallel files with the pivot spa"):
        read_parallel_folder(tmp_path, pivot="es")


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (["de-en.de"], "no partner file de-en.en"),
        (["de-en.en.gz"], "no partner file de-en.de"),
        (["de-en.de", "de-en.en", "de-en.tsv"], "holds the same pair"),
        (["de-en.de", "de-en.de.xz", "de-en.en"], "holds the same file"),
        (["de-de.de"], "must differ"),
        (["README.md"], "no parallel files"),
    ],
)
def test_folder_errors(tmp_path: Path, files: list[str], problem: str) -> None:
    for name in files:
        write(tmp_path / name, ["a\tb"] if ".tsv" in name else ["x"])
    with pytest.raises(DataError, match=problem):
        read_parallel_folder(tmp_path)


def test_folder_with_an_unknown_code_or_missing(tmp_path: Path) -> None:
    write(tmp_path / "xq-en.tsv", ["a\tb"])
    with pytest.raises(UnknownLanguageError, match="'xq'"):
        read_parallel_folder(tmp_path)
    with pytest.raises(DataError, match="folder not found"):
        read_parallel_folder(tmp_path / "absent")


def test_real_aligned_files(data_root: Path) -> None:
    folder = data_root / "tatoeba_laser_v1"
    corpus = read_parallel_files(
        folder / "tatoeba.deu-eng.deu.xz", folder / "tatoeba.deu-eng.eng.xz", "de", "en"
    )
    assert (len(corpus), corpus.skipped_empty) == (1000, 0)
    assert all(text.strip() for text in corpus.src + corpus.tgt)


def test_real_three_column_tsv_is_refused(data_root: Path) -> None:
    path = data_root / "sts17_semeval" / "sts17.track5.en-en.tsv.xz"
    with pytest.raises(DataError, match="found 3") as info:
        read_parallel_tsv(path, "en", "en")
    assert info.value.line == 1


def test_real_folder_with_pivot(data_root: Path) -> None:
    corpora = read_parallel_folder(data_root / "train_tico19", pivot="en")
    assert len(corpora) == 38
    assert {corpus.tgt_lang for corpus in corpora} == {"eng"}
    assert all(len(corpus) == 2100 for corpus in corpora)
    by_name = {corpus.name: corpus.src_lang for corpus in corpora}
    assert (by_name["train_tico19/pt_BR-eng"], by_name["train_tico19/ti_ER-eng"]) == ("por", "tir")
