"""The training corpora of the shared data root, read into ``ParallelCorpus`` objects.

Four folders hold training pairs with English, each in its own layout and language spelling
(see the data root's README.md); this module hides both, so that a caller asks for languages by
registry code and gets every (language, English) corpus found:

* ``tatoeba_challenge`` (train_tatoeba_challenge_eng): ``<xxx>-eng.<xxx>.xz`` + ``.eng.xz`` +
  ``.labels.xz``.  Each line's label (``cmn_Hans``, ``srp_Latn``, ``arq``) names its language, so a
  file is read for every language its labels resolve to: the macro-language file zho-eng gives
  cmn, yue, wuu, lzh, ...; hbs-eng gives srp, hrv and bos; ara-eng gives ara, arq, arz, ...  A
  file whose labels all name one language is read whole.
* ``wmt`` (train_wmt_newstest) and ``tico19`` (train_tico19): ``<l>-eng.<l>.xz`` + ``.eng.xz``
  with ISO 639-1 names (``de``, ``pt_BR``, ``ti_ER``).
* ``bible`` (train_bible_nt): ``<xxx>.txt.xz`` aligned by verse with ``eng.txt.xz``; an empty line
  is a missing verse, so the pair is skipped (counted in ``skipped_empty``).

The evaluation folders of the data root are never read here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from interlingua.data.languages import Language, UnknownLanguageError, get_language, parse_language_list
from interlingua.data.parallel import ParallelCorpus, read_parallel_files
from interlingua.data.textio import read_lines
from interlingua.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

DATA_ROOT_ENV = "INTERLINGUA_DATA"
TRAINING_CORPORA = ("tatoeba_challenge", "wmt", "tico19", "bible")
TRAINING_FOLDERS = {
    "tatoeba_challenge": "train_tatoeba_challenge_eng",
    "wmt": "train_wmt_newstest",
    "tico19": "train_tico19",
    "bible": "train_bible_nt",
}
_PIVOT = "eng"  # every training folder pairs its languages with English, spelled "eng" in file names


def resolve_data_root(data_root: str | Path | None) -> Path:
    """The data root given, else ``$INTERLINGUA_DATA``; a ``ConfigError`` when neither names a folder."""
    if data_root is None:
        data_root = os.environ.get(DATA_ROOT_ENV, "").strip()
        if not data_root:
            raise ConfigError(
                f"no data root: pass --data-root DIR or set the {DATA_ROOT_ENV} environment variable"
            )
    root = Path(data_root).expanduser()
    if not root.is_dir():
        problem = "does not exist" if not root.exists() else "is not a folder"
        raise ConfigError(f"data root {root} {problem} (pass --data-root DIR or set {DATA_ROOT_ENV})")
    return root


@dataclass(frozen=True)
class _Labels:
    """A Tatoeba-Challenge labels file and the language (canonical code) of each of its lines."""

    path: Path
    line_languages: tuple[str, ...]


@dataclass(frozen=True)
class _PairFiles:
    """One (language, English) corpus to read; ``labels`` when only some lines are that language's."""

    name: str
    language: str
    src: Path
    tgt: Path
    labels: _Labels | None = None


class _LabelFilter:
    """``keep_lines`` for a labelled file: keeps the lines of one language, and remembers the last
    line asked so that a labels file of another length than the text can be caught."""

    def __init__(self, line_languages: tuple[str, ...], language: str) -> None:
        self.line_languages = line_languages
        self.language = language
        self.last_line = 0

    def __call__(self, line_number: int) -> bool:
        self.last_line = line_number
        return (
            line_number <= len(self.line_languages) and self.line_languages[line_number - 1] == self.language
        )


def _language_code(code: str, path: Path) -> str | None:
    """The canonical code of a file-name code, or None (logged) when the registry lacks it."""
    try:
        return get_language(code).code
    except UnknownLanguageError as error:
        logger.warning("%s: skipped, %s", path, error)
        return None


def _split_pair_files(folder: Path, corpus: str) -> dict[str, list[_PairFiles]]:
    """``<l>-eng.<l>.xz`` + ``<l>-eng.eng.xz`` pairs of a folder, by language."""
    found: dict[str, list[_PairFiles]] = {}
    for tgt in sorted(folder.glob(f"*-{_PIVOT}.{_PIVOT}.xz")):
        code = tgt.name.removesuffix(f"-{_PIVOT}.{_PIVOT}.xz")
        language = _language_code(code, tgt)
        if language is not None:
            src = folder / f"{code}-{_PIVOT}.{code}.xz"
            found.setdefault(language, []).append(_PairFiles(f"{corpus}/{code}-{_PIVOT}", language, src, tgt))
    return found


def _labelled_pair_files(folder: Path, corpus: str) -> dict[str, list[_PairFiles]]:
    """The Tatoeba-Challenge pairs by language: one entry per (file, language of its labels)."""
    found: dict[str, list[_PairFiles]] = {}
    for pairs in _split_pair_files(folder, corpus).values():
        for pair in pairs:
            path = pair.tgt.with_name(pair.tgt.name.removesuffix(f".{_PIVOT}.xz") + ".labels.xz")
            resolved: dict[str, str] = {}  # label -> language, resolved once per distinct label
            labels = _Labels(
                path,
                tuple(
                    resolved.setdefault(label, _label_language(label, pair.language))
                    for label in read_lines(path)
                ),
            )
            languages = list(dict.fromkeys(labels.line_languages))
            for language in languages:
                name = pair.name if len(languages) == 1 else f"{pair.name}[{language}]"
                found.setdefault(language, []).append(_PairFiles(name, language, pair.src, pair.tgt, labels))
    return found


def _label_language(label: str, file_language: str) -> str:
    """The language of a line's label (``cmn_Hans`` -> cmn); a label unknown to the registry
    counts as the file's own language."""
    try:
        return get_language(label).code
    except UnknownLanguageError:
        return file_language


def _bible_pair_files(folder: Path, corpus: str) -> dict[str, list[_PairFiles]]:
    """``<xxx>.txt.xz`` verse-aligned with ``eng.txt.xz``, by language."""
    tgt = folder / f"{_PIVOT}.txt.xz"
    found: dict[str, list[_PairFiles]] = {}
    for src in sorted(folder.glob("*.txt.xz")):
        code = src.name.removesuffix(".txt.xz")
        if code in (_PIVOT, "verse_ids"):
            continue
        language = _language_code(code, src)
        if language is not None:
            found.setdefault(language, []).append(_PairFiles(f"{corpus}/{code}-{_PIVOT}", language, src, tgt))
    return found


_INDEXERS = {
    "tatoeba_challenge": _labelled_pair_files,
    "wmt": _split_pair_files,
    "tico19": _split_pair_files,
    "bible": _bible_pair_files,
}


def _read(pair: _PairFiles) -> ParallelCorpus:
    if pair.labels is None:
        return read_parallel_files(pair.src, pair.tgt, pair.language, _PIVOT, name=pair.name)
    keep = _LabelFilter(pair.labels.line_languages, pair.language)
    corpus = read_parallel_files(pair.src, pair.tgt, pair.language, _PIVOT, name=pair.name, keep_lines=keep)
    if keep.last_line != len(pair.labels.line_languages):
        raise DataError(
            pair.labels.path,
            f"{len(pair.labels.line_languages)} labels for the {keep.last_line} lines of {pair.src}",
        )
    return dataclasses.replace(corpus, sources=(*corpus.sources, str(pair.labels.path)))


def _describe(languages: Sequence[Language]) -> str:
    return ", ".join(f"{language.code} ({language.name})" for language in languages)


def load_training_corpora(
    data_root: str | Path | None,
    languages: Sequence[str],
    *,
    corpora: Sequence[str] = TRAINING_CORPORA,
    pivot: str = "eng",
) -> list[ParallelCorpus]:
    """Every (language, English) corpus of the requested training folders, for each language
    (codes or set names, any spelling); English is the target side of every corpus.

    The result is ordered by language as requested, then by corpus as requested.  The pivot itself
    in ``languages`` is ignored (it is the other side of every pair).  A ``ConfigError`` names an
    unknown corpus, a missing folder, or the languages with no training data in the folders read.
    """
    root = resolve_data_root(data_root)
    unknown = [name for name in corpora if name not in TRAINING_FOLDERS]
    if unknown:
        raise ConfigError(
            f"unknown training corpus {unknown[0]!r}; valid names: {', '.join(TRAINING_CORPORA)}"
        )
    if get_language(pivot).code != _PIVOT:
        raise ConfigError(
            f"the training corpora pair every language with English: pivot must be eng, not {pivot!r}"
        )
    wanted = [language for language in parse_language_list(languages) if language.code != _PIVOT]
    if not wanted:
        raise ConfigError(f"no language to pair with the pivot {_PIVOT}: requested {list(languages)}")

    index: dict[str, dict[str, list[_PairFiles]]] = {}
    for name in dict.fromkeys(corpora):
        folder = root / TRAINING_FOLDERS[name]
        if not folder.is_dir():
            raise ConfigError(f"{folder}: folder of training corpus {name!r} not found under the data root")
        index[name] = _INDEXERS[name](folder, name)

    missing = [language for language in wanted if not any(language.code in found for found in index.values())]
    if missing:
        folders = ", ".join(TRAINING_FOLDERS[name] for name in index)
        raise ConfigError(f"no training data for {_describe(missing)}: searched {folders} in {root}")

    loaded = []
    for language in wanted:
        for found in index.values():
            for pair in found.get(language.code, []):
                corpus = _read(pair)
                logger.info(
                    "%s: %d pairs, %d skipped (empty side)", corpus.name, len(corpus), corpus.skipped_empty
                )
                loaded.append(corpus)
    return loaded
