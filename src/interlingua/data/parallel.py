"""Reading parallel corpora: two aligned files, one two-column TSV, or a folder of either.

Every reader returns a ``ParallelCorpus``: the sentence pairs, their languages as canonical
registry codes, and the files read.  The rules are the same for every layout:

* the two sides must have the same number of lines, else ``DataError`` naming both files, both
  counts and the first line without a counterpart (a shifted file would silently pair wrong
  sentences);
* a pair with an empty or whitespace-only side (a missing verse, a blank translation) is dropped
  and counted in ``skipped_empty``; it is not an error;
* a corpus with no pair left is a ``DataError``;
* text is read by ``textio``: compressed by suffix, strict UTF-8, BOM and CRLF removed; the
  sentences are otherwise kept as they are.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from interlingua.data.languages import get_language
from interlingua.data.textio import iter_lines
from interlingua.errors import DataError

logger = logging.getLogger(__name__)

_COMPRESSION_SUFFIXES = (".xz", ".lzma", ".gz", ".bz2")
# "xx-yy.side" once the compression suffix is removed; codes may hold "_" (pt_BR) but not "-" or ".".
_FOLDER_FILE = re.compile(r"^(?P<first>[^.-]+)-(?P<second>[^.-]+)\.(?P<side>[^.]+)$")


@dataclass
class ParallelCorpus:
    """Aligned sentence pairs ``src[i]`` <-> ``tgt[i]`` in two languages (canonical codes)."""

    name: str
    src_lang: str
    tgt_lang: str
    src: list[str]
    tgt: list[str]
    sources: tuple[str, ...]
    skipped_empty: int = 0

    def __len__(self) -> int:
        return len(self.src)


def is_blank(text: str) -> bool:
    """Whether a side is empty or whitespace only: its pair is skipped (and counted), not an error."""
    return not text.strip()


def no_pairs_error(path: str | Path, lines: int, skipped_empty: int, not_selected: int) -> DataError:
    detail = f"{lines} lines read, {skipped_empty} with an empty side"
    if not_selected:
        detail += f", {not_selected} not selected"
    return DataError(path, f"no non-empty pairs ({detail})")


def iter_aligned_lines(src_path: str | Path, tgt_path: str | Path) -> Iterator[tuple[int, str, str]]:
    """``(line_number, src_text, tgt_text)`` for every line of two line-aligned files, empty sides
    included; a ``DataError`` when one file ends before the other, naming both files and counts."""
    src_iter, tgt_iter = iter_lines(src_path), iter_lines(tgt_path)
    lines = 0
    for src_item, tgt_item in zip_longest(src_iter, tgt_iter):
        if src_item is None or tgt_item is None:
            # The longer file's line ``lines + 1`` is taken; count the rest of it for the message.
            longer_count = lines + 1 + sum(1 for _ in (src_iter if tgt_item is None else tgt_iter))
            src_count, tgt_count = (lines, longer_count) if src_item is None else (longer_count, lines)
            raise DataError(
                src_path if src_item is not None else tgt_path,
                f"line counts differ: {src_path} has {src_count} lines, {tgt_path} has {tgt_count}; "
                "the two files of a pair must be aligned line by line",
                line=lines + 1,
            )
        (lines, src_text), (_, tgt_text) = src_item, tgt_item
        yield lines, src_text, tgt_text


def iter_tsv_lines(path: str | Path) -> Iterator[tuple[int, str, str]]:
    """``(line_number, source, target)`` for every line of a ``source<TAB>target`` file, empty
    sides included; a ``DataError`` for a line without exactly two fields."""
    for number, text in iter_lines(path):
        fields = text.split("\t")
        if len(fields) != 2:
            raise DataError(
                path, f"expected 2 tab-separated fields (source, target), found {len(fields)}", number
            )
        yield number, fields[0], fields[1]


def read_parallel_files(
    src_path: str | Path,
    tgt_path: str | Path,
    src_lang: str,
    tgt_lang: str,
    *,
    name: str | None = None,
    keep_lines: Callable[[int], bool] | None = None,
) -> ParallelCorpus:
    """Pairs from two line-aligned files; ``keep_lines(line_number)`` (1-based) selects lines."""
    source_code, target_code = get_language(src_lang).code, get_language(tgt_lang).code
    src: list[str] = []
    tgt: list[str] = []
    lines = skipped_empty = not_selected = 0
    for lines, src_text, tgt_text in iter_aligned_lines(src_path, tgt_path):
        if keep_lines is not None and not keep_lines(lines):
            not_selected += 1
        elif is_blank(src_text) or is_blank(tgt_text):
            skipped_empty += 1
        else:
            src.append(src_text)
            tgt.append(tgt_text)
    if not src:
        raise no_pairs_error(src_path, lines, skipped_empty, not_selected)
    return ParallelCorpus(
        name=name or f"{source_code}-{target_code}",
        src_lang=source_code,
        tgt_lang=target_code,
        src=src,
        tgt=tgt,
        sources=(str(src_path), str(tgt_path)),
        skipped_empty=skipped_empty,
    )


def read_parallel_tsv(
    path: str | Path, src_lang: str, tgt_lang: str, *, name: str | None = None
) -> ParallelCorpus:
    """Pairs from a TSV file of ``source<TAB>target`` lines (no header)."""
    source_code, target_code = get_language(src_lang).code, get_language(tgt_lang).code
    src: list[str] = []
    tgt: list[str] = []
    lines = skipped_empty = 0
    for number, src_text, tgt_text in iter_tsv_lines(path):
        lines = number
        if is_blank(src_text) or is_blank(tgt_text):
            skipped_empty += 1
        else:
            src.append(src_text)
            tgt.append(tgt_text)
    if not src:
        raise no_pairs_error(path, lines, skipped_empty, 0)
    return ParallelCorpus(
        name=name or f"{source_code}-{target_code}",
        src_lang=source_code,
        tgt_lang=target_code,
        src=src,
        tgt=tgt,
        sources=(str(path),),
        skipped_empty=skipped_empty,
    )


def _swapped(corpus: ParallelCorpus) -> ParallelCorpus:
    return dataclasses.replace(
        corpus, src_lang=corpus.tgt_lang, tgt_lang=corpus.src_lang, src=corpus.tgt, tgt=corpus.src
    )


def _pair_files(folder: Path) -> dict[tuple[str, str], dict[str, Path]]:
    """``{(first, second): {side: path}}`` for the files named ``first-second.side[.xz|.gz|...]``
    whose side is ``first``, ``second`` or ``tsv``; other files (README, .labels, ...) are ignored."""
    pairs: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        bare = path.name
        if path.suffix.lower() in _COMPRESSION_SUFFIXES:
            bare = path.name[: -len(path.suffix)]
        match = _FOLDER_FILE.match(bare)
        if not path.is_file() or not match or match["side"] not in (match["first"], match["second"], "tsv"):
            continue
        files = pairs.setdefault((match["first"], match["second"]), {})
        if match["side"] in files:
            raise DataError(path, f"{files[match['side']].name} holds the same file: keep one of the two")
        files[match["side"]] = path
    return pairs


@dataclass(frozen=True)
class ParallelFiles:
    """Where the pairs of one corpus of a folder are, before reading them: two line-aligned files
    or one TSV (``paths`` in file-name order), and ``swapped`` when the source is the second file
    or column (a pair turned so that the pivot is the target side)."""

    name: str
    src_lang: str
    tgt_lang: str
    paths: tuple[Path, ...]
    swapped: bool = False

    def iter_lines(self) -> Iterator[tuple[int, str, str]]:
        """``(line_number, source, target)`` for every line, empty sides included, with the errors
        of the readers above (mismatched line counts, a TSV line without two fields)."""
        lines = iter_tsv_lines(self.paths[0]) if len(self.paths) == 1 else iter_aligned_lines(*self.paths)
        if not self.swapped:
            return lines
        return ((number, second, first) for number, first, second in lines)

    def read(self) -> ParallelCorpus:
        """All pairs in memory (empty sides skipped and counted)."""
        first, second = (self.tgt_lang, self.src_lang) if self.swapped else (self.src_lang, self.tgt_lang)
        if len(self.paths) == 1:
            corpus = read_parallel_tsv(self.paths[0], first, second, name=self.name)
        else:
            corpus = read_parallel_files(*self.paths, first, second, name=self.name)
        return _swapped(corpus) if self.swapped else corpus


def _folder_pair(folder: Path, first: str, second: str, files: dict[str, Path]) -> tuple[Path, ...]:
    """The files of one pair of a folder, checked: a TSV alone, or both sides of two files."""
    if "tsv" in files:
        others = [path.name for side, path in files.items() if side != "tsv"]
        if others:
            raise DataError(files["tsv"], f"{others[0]} holds the same pair: keep the TSV or the two files")
        return (files["tsv"],)
    if first == second:
        raise DataError(
            files[first], "the two languages of a pair of files must differ (xx-yy.xx + xx-yy.yy)"
        )
    for present, missing in ((first, second), (second, first)):
        if missing not in files:
            raise DataError(files[present], f"no partner file {first}-{second}.{missing} beside it")
    return files[first], files[second]


def _parallel_files(
    folder: Path, first: str, second: str, files: dict[str, Path], pivot_code: str | None
) -> ParallelFiles:
    codes = (get_language(first).code, get_language(second).code)
    paths = _folder_pair(folder, first, second, files)
    swapped = codes[0] == pivot_code and codes[1] != pivot_code
    src_lang, tgt_lang = (codes[1], codes[0]) if swapped else codes
    return ParallelFiles(f"{folder.name}/{first}-{second}", src_lang, tgt_lang, paths, swapped)


def find_user_pairs(path: str | Path, *, pivot: str) -> list[ParallelFiles]:
    """The corpora a user names with one path: a folder of pairs, a TSV ``xx-yy.tsv``, or either
    file of an aligned pair ``xx-yy.xx`` (its partner ``xx-yy.yy`` is found beside it); each
    optionally compressed.  Every pair must have the pivot on one side."""
    path = Path(path)
    if path.is_dir():
        return find_parallel_files(path, pivot=pivot)
    if not path.is_file():
        raise DataError(path, "no such file or folder")
    bare = path.name[: -len(path.suffix)] if path.suffix.lower() in _COMPRESSION_SUFFIXES else path.name
    match = _FOLDER_FILE.match(bare)
    if not match or match["side"] not in (match["first"], match["second"], "tsv"):
        raise DataError(
            path, "expected a folder, xx-yy.tsv, or one of xx-yy.xx + xx-yy.yy (optionally .xz/.gz/.bz2)"
        )
    first, second = match["first"], match["second"]
    pivot_code = get_language(pivot).code
    if pivot_code not in (get_language(first).code, get_language(second).code):
        raise DataError(path, f"the pair {first}-{second} has no {pivot_code} side (the pivot)")
    files = _pair_files(path.parent)[(first, second)]
    if match["side"] == "tsv":
        files = {"tsv": files["tsv"]}
    else:
        files = {side: file for side, file in files.items() if side != "tsv"}
    return [_parallel_files(path.parent, first, second, files, pivot_code)]


def find_parallel_files(folder: str | Path, *, pivot: str | None = None) -> list[ParallelFiles]:
    """The corpora of a folder as ``read_parallel_folder`` reads them, without reading them: the
    file names, layouts and language codes are checked, the text is not."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "folder not found" if not folder.exists() else "not a folder")
    pivot_code = get_language(pivot).code if pivot is not None else None
    found = []
    for (first, second), files in _pair_files(folder).items():
        codes = (get_language(first).code, get_language(second).code)
        if pivot_code is not None and pivot_code not in codes:
            logger.info("%s/%s-%s: skipped, no %s side", folder, first, second, pivot_code)
            continue
        found.append(_parallel_files(folder, first, second, files, pivot_code))
    if not found:
        wanted = f" with the pivot {pivot_code}" if pivot_code else ""
        raise DataError(
            folder,
            f"no parallel files{wanted}: expected xx-yy.xx + xx-yy.yy or xx-yy.tsv (optionally .xz/.gz/.bz2)",
        )
    return found


def read_parallel_folder(folder: str | Path, *, pivot: str | None = None) -> list[ParallelCorpus]:
    """Every pair in a folder: ``xx-yy.xx`` + ``xx-yy.yy`` files and/or ``xx-yy.tsv`` files, each
    optionally compressed (.xz, .gz, .bz2).  Codes in file names go through the language registry.

    With ``pivot``, only pairs with the pivot language are read, turned so that the pivot is the
    target side; without it, a pair keeps its file-name order (``xx`` source, ``yy`` target).
    """
    return [files.read() for files in find_parallel_files(folder, pivot=pivot)]
