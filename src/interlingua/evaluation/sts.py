"""SemEval-2017 STS (STS17), monolingual and cross-lingual: Spearman x 100 of cosine against gold.

Data: ``sts17_semeval/sts17.<track>.<l1>-<l2>.tsv.xz``, a header line then ``score<TAB>s1<TAB>s2``
(gold similarity 0-5), 250 pairs per track: ar-ar, ar-en, es-es, es-en (4a: SNLI captions, 4b:
WMT news), en-en, tr-en.

Per track, the cosine of the two sentence vectors is ranked against the gold scores with Spearman's
rho (``scipy.stats.spearmanr``: tied values get their average rank), times 100.  The average is
the unweighted mean over the tracks evaluated.  No training, no score calibration: the model's
raw cosine is what is measured.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np

from interlingua.data.corpora import resolve_data_root
from interlingua.data.languages import get_language, parse_language_list
from interlingua.data.textio import iter_lines
from interlingua.errors import ConfigError, DataError
from interlingua.evaluation.folders import task_folder
from interlingua.evaluation.report import format_table
from interlingua.models.encode import SentenceEncoder
from interlingua.provenance import data_file_hashes

STS_FOLDER = "sts17_semeval"
_TRACK_FILE = re.compile(r"^sts17\.track(?P<track>\w+)\.(?P<first>[a-z]{2})-(?P<second>[a-z]{2})\.tsv\.xz$")
_HEADER = "score\tsentence1\tsentence2"


@dataclass(frozen=True)
class StsTrack:
    """One track: its name (``es-en (4a)``), language codes, and the scored pairs."""

    name: str
    languages: tuple[str, str]
    scores: list[float]
    first: list[str]
    second: list[str]
    path: Path


@dataclass(frozen=True)
class StsData:
    data_root: Path
    tracks: list[StsTrack]

    def sentences(self) -> list[str]:
        return [s for track in self.tracks for s in (*track.first, *track.second)]


@dataclass(frozen=True)
class StsResult:
    """Spearman x 100 per track."""

    spearman: dict[str, float]
    pairs: dict[str, int]
    data_files: dict[str, str]

    @property
    def average(self) -> float:
        return fmean(self.spearman.values())

    protocol = "STS17: Spearman rank correlation x 100 of cosine(u, v) against gold scores, per track"

    def summary(self) -> dict[str, float]:
        return {f"Spearman x 100, mean of {len(self.spearman)} tracks": self.average}

    def to_table(self) -> str:
        rows: list[list[Any]] = [[name, self.pairs[name], rho] for name, rho in self.spearman.items()]
        rows.extend([label, None, value] for label, value in self.summary().items())
        return format_table(["track", "pairs", "Spearman x 100"], rows, title="STS17 (cosine, Spearman)")

    def to_json(self) -> dict[str, Any]:
        return {
            "task": "sts17",
            "protocol": self.protocol,
            "settings": {"similarity": "cosine", "correlation": "spearman", "tracks": list(self.spearman)},
            "average": self.average,
            "metric": "spearman",
            "metric_label": "Spearman x 100",
            "per_language": {
                name: {"spearman": rho, "pairs": self.pairs[name]} for name, rho in self.spearman.items()
            },
            "summary": self.summary(),
            "plotted_averages": list(self.summary()),
            "data_files": self.data_files,
        }


def _read_track(path: Path, name: str, languages: tuple[str, str]) -> StsTrack:
    scores, first, second = [], [], []
    for number, line in iter_lines(path):
        if number == 1:
            if line != _HEADER:
                raise DataError(path, f"expected the header {_HEADER!r}", number)
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataError(path, f"expected 3 tab-separated fields, found {len(fields)}", number)
        try:
            score = float(fields[0])
        except ValueError:
            raise DataError(path, f"score {fields[0]!r} is not a number", number) from None
        if not math.isfinite(score):
            raise DataError(path, f"score {fields[0]!r} is not finite", number)
        scores.append(score)
        first.append(fields[1])
        second.append(fields[2])
    if len(scores) < 2:
        raise DataError(path, "fewer than two scored pairs")
    return StsTrack(name, languages, scores, first, second, path)


def selected_tracks(
    track_languages: dict[str, tuple[str, str]], languages: str | Sequence[str] | None
) -> list[str]:
    """Tracks whose languages are all selected (English always counts as selected); all when ``None``."""
    if languages is None:
        return list(track_languages)
    chosen = {language.code for language in parse_language_list(languages)} | {"eng"}
    return [
        name
        for name, pair in track_languages.items()
        if all(get_language(code).code in chosen for code in pair)
    ]


def load_sts17(data_root: str | Path | None, languages: str | Sequence[str] | None = None) -> StsData:
    """Read the STS17 tracks (all, or those whose languages are all in ``languages``)."""
    root = resolve_data_root(data_root)
    folder = task_folder(root, STS_FOLDER)
    found: dict[str, tuple[Path, tuple[str, str]]] = {}
    for path in sorted(folder.iterdir()):
        match = _TRACK_FILE.match(path.name)
        if match:
            name = f"{match['first']}-{match['second']} ({match['track']})"
            found[name] = (path, (match["first"], match["second"]))
    if not found:
        raise ConfigError(f"no sts17.<track>.<l1>-<l2>.tsv.xz file in {folder}")
    names = selected_tracks({name: pair for name, (_, pair) in found.items()}, languages)
    if not names:
        raise ConfigError(f"no STS17 track has only languages from {languages!r} (and English)")
    return StsData(root, [_read_track(found[name][0], name, found[name][1]) for name in names])


def spearman_x100(predicted: Sequence[float] | np.ndarray, gold: Sequence[float] | np.ndarray) -> float:
    """Spearman's rho (average ranks for ties) times 100."""
    from scipy.stats import spearmanr

    return 100.0 * float(
        spearmanr(np.asarray(predicted, dtype=np.float64), np.asarray(gold, dtype=np.float64))[0]
    )


def score_sts17(encoder: SentenceEncoder, data: StsData) -> StsResult:
    spearman, pairs = {}, {}
    for track in data.tracks:
        cosines = np.einsum("ij,ij->i", encoder.encode(track.first), encoder.encode(track.second))
        spearman[track.name] = spearman_x100(cosines, track.scores)
        pairs[track.name] = len(track.scores)
    return StsResult(spearman, pairs, data_file_hashes(data.data_root, [track.path for track in data.tracks]))


def evaluate_sts17(
    encoder: SentenceEncoder,
    data_root: str | Path | None = None,
    languages: str | Sequence[str] | None = None,
) -> StsResult:
    """STS17 Spearman x 100 per track of ``encoder``'s cosine."""
    return score_sts17(encoder, load_sts17(data_root, languages))
