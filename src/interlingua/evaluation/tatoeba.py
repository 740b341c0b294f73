"""Tatoeba similarity search (LASER v1 test set): the protocol of LASER, LaBSE and XTREME, made exact.

Data: ``tatoeba_laser_v1/tatoeba.<xxx>-eng.<xxx>.xz`` and ``...-eng.eng.xz`` under the data root,
112 languages x up to 1000 pairs, aligned by line; codes are LASER's ISO 639-3 spellings.

For each language, both directions are measured: every xxx sentence retrieves its top-1 among
that language's English sentences (xx->eng), and every English sentence among the xxx sentences
(eng->xx).  A retrieval is a hit when the retrieved *text* equals the gold text, so a sentence that
occurs on several lines is found whichever copy comes back, where comparing line numbers would
count a miss (see ``retrieval``; in the shared copy no file repeats a line exactly, only case
variants such as hye lines 287-288, which are different texts).  Accuracy is hits / pairs x 100 per direction;
a language's score is the mean of its two directions; averages are unweighted means of language
scores over the XTREME-36 languages evaluated and over all evaluated.  Retrieval is cosine (the
convention every published number uses) or the ratio margin (k = 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from interlingua.data.corpora import resolve_data_root
from interlingua.data.languages import parse_language_list
from interlingua.data.textio import read_lines
from interlingua.errors import ConfigError, DataError
from interlingua.evaluation.embeddings import EmbeddingCache
from interlingua.evaluation.folders import task_folder
from interlingua.evaluation.report import format_table
from interlingua.evaluation.retrieval import RETRIEVAL_DESCRIPTIONS, Retrieval, retrieval_hits
from interlingua.models.encode import SentenceEncoder
from interlingua.provenance import data_file_hashes

TATOEBA_FOLDER = "tatoeba_laser_v1"


@dataclass(frozen=True)
class TatoebaPair:
    """One language's test set: aligned sentences in that language and in English."""

    language: str
    sentences: list[str]
    english: list[str]
    files: tuple[Path, Path]


@dataclass(frozen=True)
class TatoebaData:
    """The test sets of the requested languages, in request order, and the data root they came from."""

    data_root: Path
    pairs: list[TatoebaPair]

    def sentences(self) -> list[str]:
        """Every sentence the evaluation encodes (both sides of every language)."""
        return [s for pair in self.pairs for s in (*pair.sentences, *pair.english)]


@dataclass(frozen=True)
class TatoebaLanguageScore:
    """Accuracy (percent) of one language in both directions."""

    language: str
    pairs: int
    xx_to_eng: float
    eng_to_xx: float

    @property
    def average(self) -> float:
        return (self.xx_to_eng + self.eng_to_xx) / 2


@dataclass(frozen=True)
class TatoebaResult:
    """Per-language accuracies of one retrieval method, with the averages the literature reports."""

    retrieval: Retrieval
    per_language: dict[str, TatoebaLanguageScore]
    xtreme36_languages: frozenset[str]
    data_files: dict[str, str]

    @property
    def average(self) -> float:
        """Mean over all evaluated languages of the mean of both directions (percent)."""
        return fmean(score.average for score in self.per_language.values())

    @property
    def xtreme36_evaluated(self) -> list[str]:
        return [code for code in self.per_language if code in self.xtreme36_languages]

    @property
    def xtreme36_average(self) -> float | None:
        """The same mean over the XTREME-36 languages that were evaluated; ``None`` if none were."""
        scores = [self.per_language[code].average for code in self.xtreme36_evaluated]
        return fmean(scores) if scores else None

    @property
    def protocol(self) -> str:
        return (
            f"Tatoeba LASER v1, {RETRIEVAL_DESCRIPTIONS[self.retrieval]}, both directions; "
            "hit = retrieved text equals gold text; accuracy %, language = mean of both directions, "
            "averages unweighted"
        )

    def summary(self) -> dict[str, float | None]:
        """Headline numbers: the XTREME-36 average (when any was evaluated) and the overall one."""
        prefix = "" if self.retrieval == "cosine" else "margin "
        numbers: dict[str, float | None] = {}
        if self.xtreme36_evaluated:
            numbers[f"{prefix}xtreme36 average ({len(self.xtreme36_evaluated)} of 36)"] = (
                self.xtreme36_average
            )
        numbers[f"{prefix}average ({len(self.per_language)} languages)"] = self.average
        return numbers

    def to_table(self) -> str:
        rows: list[list[Any]] = [
            [code, score.pairs, score.xx_to_eng, score.eng_to_xx, score.average]
            + ["*" if code in self.xtreme36_languages else ""]
            for code, score in self.per_language.items()
        ]
        rows.extend([label, None, None, None, value, ""] for label, value in self.summary().items())
        return format_table(
            ["language", "pairs", "xx->eng", "eng->xx", "mean", "xtreme36"],
            rows,
            title=f"Tatoeba ({RETRIEVAL_DESCRIPTIONS[self.retrieval]})",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "task": "tatoeba",
            "protocol": self.protocol,
            "settings": {"retrieval": self.retrieval, "languages": list(self.per_language)},
            "average": self.average,
            "average_xtreme36": self.xtreme36_average,
            "xtreme36_evaluated": self.xtreme36_evaluated,
            "metric": "average",
            "metric_label": "accuracy %, mean of both directions",
            "per_language": {
                code: {
                    "pairs": score.pairs,
                    "xx_to_eng": score.xx_to_eng,
                    "eng_to_xx": score.eng_to_xx,
                    "average": score.average,
                }
                for code, score in self.per_language.items()
            },
            "summary": self.summary(),
            "plotted_averages": list(self.summary()),
            "data_files": self.data_files,
        }


def resolve_languages(languages: str | Sequence[str] | None, *, default: str) -> list[str]:
    """Language codes (LASER spelling) from a spec like ``"deu,fra"``, ``"xtreme36"`` or a list."""
    return [language.code for language in parse_language_list(default if languages is None else languages)]


def xtreme36_codes() -> frozenset[str]:
    return frozenset(language.code for language in parse_language_list("xtreme36"))


def load_tatoeba(data_root: str | Path | None, languages: str | Sequence[str] | None = None) -> TatoebaData:
    """Read the test sets of ``languages`` (default: all 112) from ``<data_root>/tatoeba_laser_v1``."""
    root = resolve_data_root(data_root)
    folder = task_folder(root, TATOEBA_FOLDER)
    pairs = []
    for code in resolve_languages(languages, default="all112"):
        own_path = folder / f"tatoeba.{code}-eng.{code}.xz"
        english_path = folder / f"tatoeba.{code}-eng.eng.xz"
        if not own_path.is_file() or not english_path.is_file():
            raise ConfigError(f"no Tatoeba test set for language {code!r} in {folder}")
        own, english = read_lines(own_path), read_lines(english_path)
        if len(own) != len(english):
            raise DataError(own_path, f"{len(own)} lines but {english_path.name} has {len(english)}")
        if not own:
            raise DataError(own_path, "empty test set")
        pairs.append(TatoebaPair(code, own, english, (own_path, english_path)))
    return TatoebaData(root, pairs)


def score_tatoeba(
    encoder: SentenceEncoder, data: TatoebaData, *, retrieval: Retrieval = "cosine"
) -> TatoebaResult:
    """Accuracies of ``encoder`` on already loaded test sets."""
    per_language = {}
    for pair in data.pairs:
        own_vectors, english_vectors = encoder.encode(pair.sentences), encoder.encode(pair.english)
        per_language[pair.language] = TatoebaLanguageScore(
            language=pair.language,
            pairs=len(pair.sentences),
            xx_to_eng=100.0
            * float(retrieval_hits(own_vectors, english_vectors, pair.english, retrieval).mean()),
            eng_to_xx=100.0
            * float(retrieval_hits(english_vectors, own_vectors, pair.sentences, retrieval).mean()),
        )
    files = [path for pair in data.pairs for path in pair.files]
    return TatoebaResult(retrieval, per_language, xtreme36_codes(), data_file_hashes(data.data_root, files))


def evaluate_tatoeba(
    encoder: SentenceEncoder,
    data_root: str | Path | None = None,
    languages: str | Sequence[str] | None = None,
    *,
    margin: bool = False,
) -> TatoebaResult:
    """Tatoeba accuracy of ``encoder`` on ``languages`` (default all 112), cosine or ratio-margin retrieval.

    ``data_root`` defaults to ``$INTERLINGUA_DATA``.  ``languages`` takes codes or named sets
    (``"deu,fra"``, ``["deu", "fra"]``, ``"xtreme36"``, ``"all"``).  All sentences are encoded in
    one length-sorted pass, each distinct one once.
    """
    data = load_tatoeba(data_root, languages)
    cache = EmbeddingCache(encoder, show_progress=False)
    cache.prefetch(data.sentences())
    return score_tatoeba(cache, data, retrieval="margin" if margin else "cosine")
