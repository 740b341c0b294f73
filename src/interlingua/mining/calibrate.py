"""Threshold calibration of mined pairs against a gold sample (BUCC format), and its histogram.

The threshold is the one of LASER's BUCC evaluation (``BuccOptimize`` in LASER's ``bucc.py``):
walk the candidates from the best score down, compute precision, recall and F1 of each prefix,
and put the threshold half-way between the last score of the best prefix and the next one.
Gold pairs that are not among the candidates count against recall.

Inputs: the TSV written by ``interlingua mine`` (run without a threshold, so that every candidate
is there; its last two columns are the ids) and a gold file of ``source-ID<TAB>target-ID`` lines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from interlingua.data.textio import iter_lines
from interlingua.errors import DataError
from interlingua.mining.histogram import plot_score_histogram


@dataclass(frozen=True)
class Calibration:
    """The F1-optimal threshold and what keeping pairs scoring at least it gives."""

    threshold: float
    precision: float
    recall: float
    f1: float
    kept: int
    correct: int
    candidates: int
    gold: int

    def as_dict(self) -> dict:
        return asdict(self)


def read_pairs(path: Path) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Scores and ``(source id, target id)`` of each line of a mined-pairs TSV."""
    scores: list[float] = []
    ids: list[tuple[str, str]] = []
    for number, line in iter_lines(path):
        fields = line.split("\t")
        if len(fields) < 5:
            raise DataError(
                path,
                f"expected 5 tab-separated fields (score, 2 sentences, 2 ids), got {len(fields)}",
                number,
            )
        try:
            scores.append(float(fields[0]))
        except ValueError:
            raise DataError(path, f"score {fields[0][:40]!r} is not a number", number) from None
        ids.append((fields[-2], fields[-1]))
    return np.asarray(scores, dtype=np.float32), ids


def read_gold(path: Path) -> set[tuple[str, str]]:
    """Gold pairs of a ``source-ID<TAB>target-ID`` file (BUCC's ``.gold``)."""
    gold: set[tuple[str, str]] = set()
    for number, line in iter_lines(path):
        fields = line.split("\t")
        if len(fields) != 2 or not all(fields):
            raise DataError(path, "expected source-ID<TAB>target-ID", number)
        gold.add((fields[0], fields[1]))
    return gold


def calibrate(scores: np.ndarray, ids: list[tuple[str, str]], gold: set[tuple[str, str]]) -> Calibration:
    """The threshold maximising F1 of the candidates ``(scores, ids)`` against ``gold``."""
    if not gold:
        raise DataError("gold", "the gold file holds no pairs")
    # Scores are float32 (as mined); thresholds are compared in float32, as ``interlingua mine`` does.
    scores = np.asarray(scores, dtype=np.float32)
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order].astype(np.float64)
    is_gold = np.fromiter((ids[i] in gold for i in order.tolist()), dtype=bool, count=len(order))
    if not is_gold.any():
        raise DataError(
            "gold", "no candidate is a gold pair: do the ids of the pairs and of the gold file match?"
        )
    correct = np.cumsum(is_gold)
    extracted = np.arange(1, len(ranked) + 1)
    f1 = 2 * correct / (extracted + len(gold))
    best = int(np.argmax(f1))
    threshold = (ranked[best] + ranked[best + 1]) / 2 if best + 1 < len(ranked) else ranked[best]
    kept = int((scores >= np.float32(threshold)).sum())
    kept_correct = int(is_gold[:kept].sum())
    return Calibration(
        threshold=float(threshold),
        precision=kept_correct / kept,
        recall=kept_correct / len(gold),
        f1=2 * kept_correct / (kept + len(gold)),
        kept=kept,
        correct=kept_correct,
        candidates=len(scores),
        gold=len(gold),
    )


def calibrate_files(pairs: Path, gold_path: Path, *, histogram: Path | None = None) -> Calibration:
    """Calibrate on files; optionally save the histogram of gold and other pairs' scores."""
    scores, ids = read_pairs(pairs)
    gold = read_gold(gold_path)
    try:
        calibration = calibrate(scores, ids, gold)
    except DataError as error:
        raise DataError(gold_path, error.problem) from None
    if histogram:
        plot_score_histogram(
            scores,
            histogram,
            gold=np.fromiter((pair in gold for pair in ids), dtype=bool, count=len(ids)),
            threshold=calibration.threshold,
            title=f"Margin scores, {pairs.name} against {gold_path.name}",
        )
    return calibration
