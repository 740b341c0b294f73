"""FLORES-200 devtest xSIM: the error rate of xx -> eng_Latn similarity search (LASER3 / NLLB).

Data: ``flores200_devtest/<lang>_<Script>.devtest.xz``, 1012 sentences per language, multi-way
aligned by line; the pivot is ``eng_Latn.devtest.xz``.

Every sentence of language xx retrieves its top-1 among the 1012 English sentences, by cosine or by
ratio margin (k = 4, the neighbourhoods taken xx->eng and eng->xx, as LASER's ``xsim.py`` does).
It is an error unless the retrieved English text equals the gold English text (the shared copy has
no repeated English line, so this equals comparing line numbers there).  xSIM is errors / 1012 x 100
per FLORES file; the average is the unweighted mean over the files evaluated.  Only the
xx -> eng direction is measured, as in the xSIM definition.

Language selection: each registry language contributes its usual-script file (``ara`` ->
``arb_Arab``, ``cmn`` -> ``zho_Hans``); a FLORES file code given verbatim (``zho_Hant``) is used
as is.  Languages of a named set that FLORES-200 lacks are skipped and listed in the result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
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

FLORES_FOLDER = "flores200_devtest"
PIVOT = "eng_Latn"
_FLORES_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


@dataclass(frozen=True)
class FloresData:
    """The pivot and the requested FLORES files, each a list of aligned lines."""

    data_root: Path
    english: list[str]
    per_file: dict[str, list[str]]
    files: list[Path]
    not_in_flores: list[str] = field(default_factory=list)

    def sentences(self) -> list[str]:
        return [*self.english, *(s for lines in self.per_file.values() for s in lines)]


@dataclass(frozen=True)
class FloresResult:
    """xSIM error rate (percent) per FLORES file, for one retrieval method."""

    retrieval: Retrieval
    error_rates: dict[str, float]
    sentences: int
    not_in_flores: list[str]
    data_files: dict[str, str]

    @property
    def average(self) -> float:
        return fmean(self.error_rates.values())

    @property
    def protocol(self) -> str:
        return (
            f"FLORES-200 devtest xSIM, xx -> {PIVOT}, {RETRIEVAL_DESCRIPTIONS[self.retrieval]}; "
            f"error = retrieved English text differs from gold; error rate % over {self.sentences} sentences"
        )

    def summary(self) -> dict[str, float]:
        prefix = "" if self.retrieval == "cosine" else "margin "
        return {f"{prefix}xSIM error, mean of {len(self.error_rates)} languages": self.average}

    def to_table(self) -> str:
        rows: list[list[Any]] = [[code, rate] for code, rate in self.error_rates.items()]
        rows.extend([label, value] for label, value in self.summary().items())
        return format_table(
            ["language", "xSIM error %"],
            rows,
            title=f"FLORES-200 devtest xSIM ({RETRIEVAL_DESCRIPTIONS[self.retrieval]})",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "task": "flores",
            "protocol": self.protocol,
            "settings": {"retrieval": self.retrieval, "pivot": PIVOT, "languages": list(self.error_rates)},
            "average": self.average,
            "metric": "error_rate",
            "metric_label": "xSIM error %",
            "lower_is_better": True,
            "per_language": {code: {"error_rate": rate} for code, rate in self.error_rates.items()},
            "not_in_flores": self.not_in_flores,
            "summary": self.summary(),
            "plotted_averages": list(self.summary()),
            "data_files": self.data_files,
        }


def flores_codes(languages: str | Sequence[str] | None) -> tuple[list[str], list[str]]:
    """FLORES file codes for a language spec (default ``xtreme36``), and the languages FLORES lacks."""
    items = (
        ["xtreme36"] if languages is None else [languages] if isinstance(languages, str) else list(languages)
    )
    codes: list[str] = []
    missing: list[str] = []
    for item in (part.strip() for spec in items for part in spec.split(",")):
        if not item:
            continue
        if _FLORES_CODE.match(item):
            codes.append(item)
            continue
        for language in parse_language_list(item):
            if language.flores:
                codes.append(language.flores[0])
            elif language.code != "eng":
                missing.append(language.code)
    codes = [code for code in dict.fromkeys(codes) if code != PIVOT]
    if not codes:
        raise ConfigError(f"no FLORES-200 language selected by {languages!r}")
    return codes, missing


def load_flores(data_root: str | Path | None, languages: str | Sequence[str] | None = None) -> FloresData:
    """Read the pivot and the FLORES files of ``languages`` (default: the XTREME-36 languages)."""
    root = resolve_data_root(data_root)
    folder = task_folder(root, FLORES_FOLDER)
    codes, missing = flores_codes(languages)
    english_path = folder / f"{PIVOT}.devtest.xz"
    english = read_lines(english_path)
    per_file = {}
    files = [english_path]
    for code in codes:
        path = folder / f"{code}.devtest.xz"
        if not path.is_file():
            raise ConfigError(f"no FLORES-200 devtest file for {code!r} in {folder}")
        lines = read_lines(path)
        if len(lines) != len(english):
            raise DataError(path, f"{len(lines)} lines but {english_path.name} has {len(english)}")
        per_file[code] = lines
        files.append(path)
    return FloresData(root, english, per_file, files, missing)


def score_flores(
    encoder: SentenceEncoder, data: FloresData, *, retrieval: Retrieval = "cosine"
) -> FloresResult:
    """xSIM error rates of ``encoder`` on already loaded FLORES files."""
    english_vectors = encoder.encode(data.english)
    error_rates = {}
    for code, lines in data.per_file.items():
        hits = retrieval_hits(encoder.encode(lines), english_vectors, data.english, retrieval)
        error_rates[code] = 100.0 * float((~hits).mean())
    return FloresResult(
        retrieval,
        error_rates,
        len(data.english),
        data.not_in_flores,
        data_file_hashes(data.data_root, data.files),
    )


def evaluate_flores(
    encoder: SentenceEncoder,
    data_root: str | Path | None = None,
    languages: str | Sequence[str] | None = None,
    *,
    margin: bool = False,
) -> FloresResult:
    """FLORES-200 devtest xSIM error rates of ``encoder`` (default languages: XTREME-36)."""
    data = load_flores(data_root, languages)
    cache = EmbeddingCache(encoder, show_progress=False)
    cache.prefetch(data.sentences())
    return score_flores(cache, data, retrieval="margin" if margin else "cosine")
