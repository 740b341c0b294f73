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
from collections.abc import Callable
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


def _is_blank(text: str) -> bool:
    return not text.strip()


def _no_pairs_error(path: str | Path, lines: int, skipped_empty: int, not_selected: int) -> DataError:
    detail = f"{lines} lines read, {skipped_empty} with an empty side"
    if not_selected:
        detail += f", {not_selected} not selected"
    return DataError(path, f"no non-empty pairs ({detail})")


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
    src_iter, tgt_iter = iter_lines(src_path), iter_lines(tgt_path)
    src: list[str] = []
    tgt: list[str] = []
    lines = skipped_empty = not_selected = 0
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
        (number, src_text), (_, tgt_text) = src_item, tgt_item
        lines = number
        if keep_lines is not None and not keep_lines(number):
            not_selected += 1
        elif _is_blank(src_text) or _is_blank(tgt_text):
            skipped_empty += 1
        else:
            src.append(src_text)
            tgt.append(tgt_text)
    if not src:
        raise _no_pairs_error(src_path, lines, skipped_empty, not_selected)
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
    for lines, text in iter_lines(path):
        fields = text.split("\t")
        if len(fields) != 2:
            raise DataError(
                path, f"expected 2 tab-separated fields (source, target), found {len(fields)}", lines
            )
        if _is_blank(fields[0]) or _is_blank(fields[1]):
            skipped_empty += 1
        else:
            src.append(fields[0])
            tgt.append(fields[1])
    if not src:
        raise _no_pairs_error(path, lines, skipped_empty, 0)
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


def _read_folder_pair(folder: Path, first: str, second: str, files: dict[str, Path]) -> ParallelCorpus:
    name = f"{folder.name}/{first}-{second}"
    if "tsv" in files:
        others = [path.name for side, path in files.items() if side != "tsv"]
        if others:
            raise DataError(files["tsv"], f"{others[0]} holds the same pair: keep the TSV or the two files")
        return read_parallel_tsv(files["tsv"], first, second, name=name)
    if first == second:
        raise DataError(
            files[first], "the two languages of a pair of files must differ (xx-yy.xx + xx-yy.yy)"
        )
    for present, missing in ((first, second), (second, first)):
        if missing not in files:
            raise DataError(files[present], f"no partner file {first}-{second}.{missing} beside it")
    return read_parallel_files(files[first], files[second], first, second, name=name)


def read_parallel_folder(folder: str | Path, *, pivot: str | None = None) -> list[ParallelCorpus]:
    """Every pair in a folder: ``xx-yy.xx`` + ``xx-yy.yy`` files and/or ``xx-yy.tsv`` files, each
    optionally compressed (.xz, .gz, .bz2).  Codes in file names go through the language registry.

    With ``pivot``, only pairs with the pivot language are read, turned so that the pivot is the
    target side; without it, a pair keeps its file-name order (``xx`` source, ``yy`` target).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "folder not found" if not folder.exists() else "not a folder")
    pivot_code = get_language(pivot).code if pivot is not None else None
    corpora = []
    for (first, second), files in _pair_files(folder).items():
        codes = (get_language(first).code, get_language(second).code)
        if pivot_code is not None and pivot_code not in codes:
            logger.info("%s/%s-%s: skipped, no %s side", folder, first, second, pivot_code)
            continue
        corpus = _read_folder_pair(folder, first, second, files)
        corpora.append(_swapped(corpus) if codes[0] == pivot_code and codes[1] != pivot_code else corpus)
    if not corpora:
        wanted = f" with the pivot {pivot_code}" if pivot_code else ""
        raise DataError(
            folder,
            f"no parallel files{wanted}: expected xx-yy.xx + xx-yy.yy or xx-yy.tsv (optionally .xz/.gz/.bz2)",
        )
    return corpora
