"""Run several evaluation tasks on one encoder, encoding every distinct sentence once.

A run first loads the data of every requested task (so a missing file fails before any encoding),
then hands the union of their sentences to one ``EmbeddingCache`` (length-sorted batches, one
progress bar), then scores each task from the cache.  The result is a JSON document with one block
per task (see ``report``) and the provenance of the whole run.

Language selection (``languages``: codes or named sets, as ``parse_language_list`` reads them):
Tatoeba defaults to all 112 languages, FLORES to the XTREME-36 ones; STS17 keeps the tracks whose
languages are all selected (English counts as selected), XNLI and PAWS-X the selected test
languages (English is always the training language); BUCC is the zh-en sample and ignores it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interlingua.atomic import model_fingerprint
from interlingua.data.corpora import resolve_data_root
from interlingua.errors import ConfigError
from interlingua.evaluation import bucc, flores, sts, tatoeba, zeroshot
from interlingua.evaluation.embeddings import EmbeddingCache
from interlingua.models.encode import SentenceEncoder, coverage
from interlingua.provenance import package_versions, utc_now

TASK_NAMES = ("tatoeba", "flores", "bucc", "sts17", "xnli", "pawsx")


@dataclass(frozen=True)
class TaskOutcome:
    """What one task produced: its JSON block and its terminal table."""

    block: dict[str, Any]
    table: str


@dataclass(frozen=True)
class PreparedTask:
    """A task whose data is loaded: the sentences it needs, and how to score it from an encoder."""

    name: str
    sentences: list[str]
    score: Callable[[SentenceEncoder], TaskOutcome]


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of a run: per-task blocks and tables, and the provenance of the run."""

    outcomes: dict[str, TaskOutcome]
    provenance: dict[str, Any]

    def document(self) -> dict[str, Any]:
        """The result file: a single task's block at the top level, else ``{"tasks": ...}``."""
        blocks = {name: outcome.block for name, outcome in self.outcomes.items()}
        if len(blocks) == 1:
            return {**next(iter(blocks.values())), "provenance": self.provenance}
        return {"tasks": blocks, "provenance": self.provenance}

    def tables(self) -> str:
        return "\n\n".join(outcome.table for outcome in self.outcomes.values())


def _with_margin(cosine_block: dict[str, Any], margin_block: dict[str, Any]) -> dict[str, Any]:
    """A retrieval task's block: the cosine numbers on top, the margin ones under ``margin``."""
    margin_part = {key: value for key, value in margin_block.items() if key not in ("task", "data_files")}
    return {
        **cosine_block,
        "summary": {**cosine_block["summary"], **margin_block["summary"]},
        "settings": {**cosine_block["settings"], "retrieval": ["cosine", "margin"]},
        "margin": margin_part,
    }


LanguageSpec = str | Sequence[str] | None


def prepare_tatoeba(data_root: Path, languages: LanguageSpec, margin: bool) -> PreparedTask:
    data = tatoeba.load_tatoeba(data_root, languages)

    def score(encoder: SentenceEncoder) -> TaskOutcome:
        cosine = tatoeba.score_tatoeba(encoder, data, retrieval="cosine")
        if not margin:
            return TaskOutcome(cosine.to_json(), cosine.to_table())
        by_margin = tatoeba.score_tatoeba(encoder, data, retrieval="margin")
        return TaskOutcome(
            _with_margin(cosine.to_json(), by_margin.to_json()),
            cosine.to_table() + "\n\n" + by_margin.to_table(),
        )

    return PreparedTask("tatoeba", data.sentences(), score)


def prepare_flores(data_root: Path, languages: LanguageSpec, margin: bool) -> PreparedTask:
    data = flores.load_flores(data_root, languages)

    def score(encoder: SentenceEncoder) -> TaskOutcome:
        cosine = flores.score_flores(encoder, data, retrieval="cosine")
        if not margin:
            return TaskOutcome(cosine.to_json(), cosine.to_table())
        by_margin = flores.score_flores(encoder, data, retrieval="margin")
        return TaskOutcome(
            _with_margin(cosine.to_json(), by_margin.to_json()),
            cosine.to_table() + "\n\n" + by_margin.to_table(),
        )

    return PreparedTask("flores", data.sentences(), score)


def prepare_bucc(data_root: Path, languages: LanguageSpec, margin: bool) -> PreparedTask:
    data = bucc.load_bucc(data_root)

    def score(encoder: SentenceEncoder) -> TaskOutcome:
        result = bucc.score_bucc(encoder, data)
        return TaskOutcome(result.to_json(), result.to_table())

    return PreparedTask("bucc", data.sentences(), score)


def prepare_sts17(data_root: Path, languages: LanguageSpec, margin: bool) -> PreparedTask:
    data = sts.load_sts17(data_root, languages)

    def score(encoder: SentenceEncoder) -> TaskOutcome:
        result = sts.score_sts17(encoder, data)
        return TaskOutcome(result.to_json(), result.to_table())

    return PreparedTask("sts17", data.sentences(), score)


def _zero_shot_preparer(task: zeroshot.ZeroShotTask) -> Callable[[Path, LanguageSpec, bool], PreparedTask]:
    def prepare(data_root: Path, languages: LanguageSpec, margin: bool) -> PreparedTask:
        data = zeroshot.load_zero_shot(task, data_root, languages)

        def score(encoder: SentenceEncoder) -> TaskOutcome:
            result = zeroshot.score_zero_shot(encoder, data)
            return TaskOutcome(result.to_json(), result.to_table())

        return PreparedTask(task.name, data.sentences(), score)

    return prepare


PREPARERS: dict[str, Callable[[Path, LanguageSpec, bool], PreparedTask]] = {
    "tatoeba": prepare_tatoeba,
    "flores": prepare_flores,
    "bucc": prepare_bucc,
    "sts17": prepare_sts17,
    "xnli": _zero_shot_preparer(zeroshot.XNLI),
    "pawsx": _zero_shot_preparer(zeroshot.PAWSX),
}


def _spec_to_json(spec: LanguageSpec) -> str | list[str] | None:
    return spec if spec is None or isinstance(spec, str) else list(spec)


def _model_location(model_path: str | Path | None) -> str | None:
    if model_path is None:
        return None
    path = Path(model_path)
    return str(path.resolve()) if path.exists() else str(model_path)


def prepare_tasks(
    tasks: Sequence[str],
    data_root: Path,
    languages: LanguageSpec = None,
    task_languages: Mapping[str, LanguageSpec] | None = None,
    *,
    margin: bool = True,
) -> list[PreparedTask]:
    """Load the data of ``tasks`` (before any encoding, so that a data problem fails fast)."""
    unknown = [name for name in tasks if name not in PREPARERS]
    if unknown:
        raise ConfigError(f"unknown task(s) {', '.join(unknown)}: expected {', '.join(PREPARERS)}")
    overrides = dict(task_languages or {})
    not_run = [name for name in overrides if name not in tasks]
    if not_run:
        raise ConfigError(f"languages given for task(s) not run: {', '.join(not_run)}")
    return [PREPARERS[name](data_root, overrides.get(name, languages), margin) for name in tasks]


def run_suite(
    encoder: SentenceEncoder,
    tasks: Sequence[str],
    *,
    data_root: str | Path | None = None,
    languages: LanguageSpec = None,
    task_languages: Mapping[str, LanguageSpec] | None = None,
    margin: bool = True,
    model_path: str | Path | None = None,
    show_progress: bool = True,
) -> SuiteResult:
    """Evaluate ``encoder`` on ``tasks`` (names from ``TASK_NAMES``), encoding each sentence once.

    ``languages`` applies to every task (see the module docstring); ``task_languages`` overrides it
    for the tasks it names (``{"flores": "xtreme36,pol"}``).  ``margin`` adds ratio-margin retrieval
    next to cosine for Tatoeba and FLORES.  ``model_path`` is fingerprinted into the provenance (a
    folder is hashed file by file).  An ``EmbeddingCache`` passed as ``encoder`` is used as is, so
    vectors it already holds are not computed again.
    """
    root = resolve_data_root(data_root)
    prepared = prepare_tasks(tasks, root, languages, task_languages, margin=margin)
    overrides = dict(task_languages or {})
    cache = (
        encoder
        if isinstance(encoder, EmbeddingCache)
        else EmbeddingCache(encoder, show_progress=show_progress)
    )
    sentences = list(dict.fromkeys(sentence for task in prepared for sentence in task.sentences))
    cache.prefetch(sentences)
    # Truncated and unreadable inputs are scored without an error: recorded, so that a low score
    # can be told apart from a model that could not read the test set.
    truncated, unknown = coverage(cache.encoder, sentences) or (None, None)
    outcomes = {task.name: task.score(cache) for task in prepared}
    data_files = {
        path: digest for outcome in outcomes.values() for path, digest in outcome.block["data_files"].items()
    }
    provenance = {
        "model": {
            "name": encoder.name,
            "path": _model_location(model_path),
            "sha256": model_fingerprint(model_path),
            "prefix": getattr(encoder, "prefix", ""),
        },
        "data_root": str(root.resolve()),
        "data_files": dict(sorted(data_files.items())),
        "settings": {
            "tasks": list(tasks),
            "languages": _spec_to_json(languages),
            "task_languages": {name: _spec_to_json(spec) for name, spec in overrides.items()},
            "margin": margin,
            **{name: outcome.block["settings"] for name, outcome in outcomes.items()},
        },
        "encoding": {
            "distinct_sentences": cache.sentence_count,
            "seconds": round(cache.encode_seconds, 1),
            "truncated": truncated,
            "unknown_pieces_only": unknown,
        },
        "versions": package_versions(),
        "date": utc_now(),
        "command": sys.argv,
    }
    return SuiteResult(outcomes, provenance)
