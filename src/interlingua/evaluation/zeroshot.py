"""Zero-shot cross-lingual transfer (XNLI, PAWS-X): a classifier on frozen sentence-pair features.

Data: ``xnli_xtreme/dev-<l>.tsv.xz`` (premise, hypothesis, entailment|neutral|contradiction; 15
languages x 2,490 rows) and ``pawsx_xtreme/dev-<l>.tsv.xz`` (s1, s2, 0|1; 7 languages x 2,000
rows), the XTREME copies.  Their ``test-<l>`` files carry no labels, so this evaluation does not use
them: it holds out part of the labelled dev set instead, and every result says so.

Protocol:
  1. The dev sets are translations of one another, row by row (checked: equal row counts).  Each
     language is scored against its own labels (PAWS-X's translated sets differ from English on
     3 to 32 labels per language; XNLI's agree everywhere).  Rows are grouped by their English
     first sentence (an XNLI premise has three hypotheses); a seeded permutation of the groups puts
     ``holdout_fraction`` of them in the held-out half.  The same rows are held out in every
     language, so no test item's translation is ever trained on.
  2. Features of a pair (u, v) of L2-normalised sentence vectors: [u; v; |u - v|; u * v], standardised
     with the training rows' mean and deviation.
  3. Logistic regression (L-BFGS, multinomial, at most 2,000 iterations), trained on the English rows
     that are not held out.  C is picked from ``C_GRID`` by 5-fold cross-validation on those rows,
     folds grouped like the split (the smaller C wins a tie), then refitted on all of them.
  4. Accuracy x 100 on the held-out rows of every language.  The zero-shot average is the mean over
     the non-English languages; English (same held-out rows) is reported beside it as the
     in-language reference, and the accuracy of always answering English training's most frequent
     label beside each language (PAWS-X's adversarial pairs keep frozen-embedding classifiers near
     it).
"""

from __future__ import annotations

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

TRAIN_LANGUAGE = "en"
C_GRID = (0.0001, 0.001, 0.01, 0.1, 1.0, 10.0)
CV_FOLDS = 5
MAX_ITERATIONS = 2000
DEFAULT_HOLDOUT_FRACTION = 0.5
DEFAULT_SEED = 0


@dataclass(frozen=True)
class ZeroShotTask:
    """Where a pair-classification benchmark lives and what its labels are."""

    name: str
    title: str
    folder: str
    labels: tuple[str, ...]


XNLI = ZeroShotTask("xnli", "XNLI", "xnli_xtreme", ("entailment", "neutral", "contradiction"))
PAWSX = ZeroShotTask("pawsx", "PAWS-X", "pawsx_xtreme", ("0", "1"))


@dataclass(frozen=True)
class LabelledPairs:
    """One language's labelled dev set: aligned first sentences, second sentences and label ids."""

    language: str
    first: list[str]
    second: list[str]
    labels: np.ndarray
    path: Path


@dataclass(frozen=True)
class ZeroShotData:
    """All languages' dev sets (English first), and which rows are held out for testing."""

    task: ZeroShotTask
    data_root: Path
    per_language: dict[str, LabelledPairs]
    held_out: np.ndarray
    holdout_fraction: float
    seed: int

    @property
    def train_rows(self) -> np.ndarray:
        return np.flatnonzero(~self.held_out)

    @property
    def test_rows(self) -> np.ndarray:
        return np.flatnonzero(self.held_out)

    def sentences(self) -> list[str]:
        """The sentences that are encoded: English training rows and every language's held-out rows."""
        english = self.per_language[TRAIN_LANGUAGE]
        needed = [english.first[i] for i in self.train_rows] + [english.second[i] for i in self.train_rows]
        for pairs in self.per_language.values():
            needed += [pairs.first[i] for i in self.test_rows] + [pairs.second[i] for i in self.test_rows]
        return needed


@dataclass(frozen=True)
class ZeroShotResult:
    """Held-out accuracy per language of a classifier trained on English."""

    task: ZeroShotTask
    accuracy: dict[str, float]
    majority_baseline: dict[str, float]
    train_rows: int
    test_rows: int
    chosen_c: float
    holdout_fraction: float
    seed: int
    data_files: dict[str, str]

    @property
    def zero_shot_languages(self) -> list[str]:
        return [language for language in self.accuracy if language != TRAIN_LANGUAGE]

    @property
    def average(self) -> float | None:
        """Mean held-out accuracy over the non-English languages (``None`` if only English ran)."""
        scores = [self.accuracy[language] for language in self.zero_shot_languages]
        return fmean(scores) if scores else None

    @property
    def protocol(self) -> str:
        return (
            f"{self.task.title} zero-shot: logistic regression on frozen [u; v; |u-v|; u*v], "
            "trained on English; the test sets have no labels, so each language's labelled dev set is split: "
            f"{self.test_rows} rows held out for testing (same rows in every language), "
            f"{self.train_rows} English rows for training"
        )

    def summary(self) -> dict[str, float | None]:
        return {
            f"zero-shot accuracy, mean of {len(self.zero_shot_languages)} languages": self.average,
            "English (in-language)": self.accuracy.get(TRAIN_LANGUAGE),
        }

    def to_table(self) -> str:
        rows: list[list[Any]] = [
            [language, accuracy, self.majority_baseline[language]]
            for language, accuracy in self.accuracy.items()
        ]
        rows.extend([label, value, None] for label, value in self.summary().items())
        return format_table(
            ["language", "accuracy %", "majority class %"],
            rows,
            title=f"{self.task.title} zero-shot from English ({self.holdout_fraction:.0%} of each dev set "
            f"held out: {self.test_rows} rows; C = {self.chosen_c:g})",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task.name,
            "protocol": self.protocol,
            "note": "the test labels are missing from the data: scores are on a held-out part "
            "of the labelled dev set",
            "settings": {
                "train_language": TRAIN_LANGUAGE,
                "features": "[u; v; |u-v|; u*v], standardised on the training rows",
                "classifier": f"logistic regression (lbfgs, max_iter={MAX_ITERATIONS})",
                "c_grid": list(C_GRID),
                "cv_folds": CV_FOLDS,
                "chosen_c": self.chosen_c,
                "holdout_fraction": self.holdout_fraction,
                "holdout_grouping": "rows grouped by their English first sentence",
                "seed": self.seed,
                "train_rows": self.train_rows,
                "test_rows_per_language": self.test_rows,
                "languages": list(self.accuracy),
            },
            "average": self.average,
            "metric": "accuracy",
            "metric_label": "accuracy % (held-out dev rows)",
            "per_language": {
                language: {"accuracy": accuracy, "majority_baseline": self.majority_baseline[language]}
                for language, accuracy in self.accuracy.items()
            },
            "summary": self.summary(),
            "plotted_averages": [next(iter(self.summary()))],
            "data_files": self.data_files,
        }


def _read_dev(task: ZeroShotTask, path: Path, language: str) -> LabelledPairs:
    first, second, labels = [], [], []
    label_ids = {label: index for index, label in enumerate(task.labels)}
    for number, line in iter_lines(path):
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataError(path, f"expected 3 tab-separated fields, found {len(fields)}", number)
        if fields[2] not in label_ids:
            raise DataError(
                path, f"unknown label {fields[2]!r}; expected one of {', '.join(task.labels)}", number
            )
        first.append(fields[0])
        second.append(fields[1])
        labels.append(label_ids[fields[2]])
    if not labels:
        raise DataError(path, "empty dev set")
    return LabelledPairs(language, first, second, np.asarray(labels, dtype=np.int64), path)


def holdout_mask(groups: Sequence[str], fraction: float, seed: int) -> np.ndarray:
    """Boolean per row: held out.  Whole groups are held out, ``round(fraction x groups)`` of them."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"held-out fraction must be between 0 and 1, got {fraction}")
    distinct = list(dict.fromkeys(groups))
    order = np.random.default_rng(seed).permutation(len(distinct))
    held_groups = {distinct[i] for i in order[: round(fraction * len(distinct))]}
    return np.fromiter((group in held_groups for group in groups), dtype=bool, count=len(groups))


def load_zero_shot(
    task: ZeroShotTask,
    data_root: str | Path | None,
    languages: str | Sequence[str] | None = None,
    *,
    holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION,
    seed: int = DEFAULT_SEED,
) -> ZeroShotData:
    """Read English and the selected languages' dev sets (default: all) and split off the test rows."""
    root = resolve_data_root(data_root)
    folder = task_folder(root, task.folder)
    available = sorted(path.name[len("dev-") : -len(".tsv.xz")] for path in folder.glob("dev-*.tsv.xz"))
    if TRAIN_LANGUAGE not in available:
        raise ConfigError(f"{folder}: no English dev set (dev-{TRAIN_LANGUAGE}.tsv.xz) to train on")
    if languages is not None:
        chosen = {language.code for language in parse_language_list(languages)}
        available = [code for code in available if get_language(code).code in chosen]
    ordered = [TRAIN_LANGUAGE, *(code for code in available if code != TRAIN_LANGUAGE)]
    per_language = {code: _read_dev(task, folder / f"dev-{code}.tsv.xz", code) for code in ordered}
    english = per_language[TRAIN_LANGUAGE]
    for pairs in per_language.values():
        if len(pairs.labels) != len(english.labels):
            raise DataError(
                pairs.path, f"{len(pairs.labels)} rows, but {english.path.name} has {len(english.labels)}"
            )
    held_out = holdout_mask(english.first, holdout_fraction, seed)
    return ZeroShotData(task, root, per_language, held_out, holdout_fraction, seed)


def pair_features(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """[u; v; |u - v|; u * v] per row, float64."""
    u, v = first.astype(np.float64), second.astype(np.float64)
    return np.hstack([u, v, np.abs(u - v), u * v])


def fit_classifier(features: np.ndarray, labels: np.ndarray, groups: Sequence[str]) -> tuple[Any, float]:
    """Standardise + logistic regression, C chosen by grouped cross-validation; returns (model, C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def model(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=MAX_ITERATIONS))

    folds = list(GroupKFold(n_splits=min(CV_FOLDS, len(set(groups)))).split(features, labels, groups))
    best_c, best_accuracy = C_GRID[0], -1.0
    for c in C_GRID:
        accuracy = fmean(
            float(model(c).fit(features[train], labels[train]).score(features[test], labels[test]))
            for train, test in folds
        )
        if accuracy > best_accuracy:
            best_c, best_accuracy = c, accuracy
    return model(best_c).fit(features, labels), best_c


def score_zero_shot(encoder: SentenceEncoder, data: ZeroShotData) -> ZeroShotResult:
    """Train on English's training rows, test on every language's held-out rows."""
    english = data.per_language[TRAIN_LANGUAGE]
    train, test = data.train_rows, data.test_rows

    def features(pairs: LabelledPairs, rows: np.ndarray) -> np.ndarray:
        return pair_features(
            encoder.encode([pairs.first[i] for i in rows]), encoder.encode([pairs.second[i] for i in rows])
        )

    classifier, chosen_c = fit_classifier(
        features(english, train), english.labels[train], [english.first[i] for i in train]
    )
    accuracy = {
        code: 100.0 * float(classifier.score(features(pairs, test), pairs.labels[test]))
        for code, pairs in data.per_language.items()
    }
    majority_label = int(np.bincount(english.labels[train]).argmax())
    majority_baseline = {
        code: 100.0 * float(np.mean(pairs.labels[test] == majority_label))
        for code, pairs in data.per_language.items()
    }
    files = [pairs.path for pairs in data.per_language.values()]
    return ZeroShotResult(
        data.task,
        accuracy,
        majority_baseline,
        len(train),
        len(test),
        chosen_c,
        data.holdout_fraction,
        data.seed,
        data_file_hashes(data.data_root, files),
    )


def evaluate_zero_shot(
    task: ZeroShotTask,
    encoder: SentenceEncoder,
    data_root: str | Path | None = None,
    languages: str | Sequence[str] | None = None,
    *,
    holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION,
    seed: int = DEFAULT_SEED,
) -> ZeroShotResult:
    """Zero-shot accuracy of ``encoder`` on ``task`` (``XNLI`` or ``PAWSX``) from English."""
    data = load_zero_shot(task, data_root, languages, holdout_fraction=holdout_fraction, seed=seed)
    return score_zero_shot(encoder, data)
