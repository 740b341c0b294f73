"""BUCC 2018 bitext mining, zh-en, on the **sample** split (the only split in the data root).

Data: ``bucc2018_zh-en_sample/zh-en.sample.{zh,en}.xz`` (``ID<TAB>sentence``; 8,624 zh and 13,589
en) and ``zh-en.sample.gold.xz`` (``zh-ID<TAB>en-ID``, 257 pairs).  Papers report F1 on the test
split, which is not available: these numbers are on the sample split, with the threshold tuned on
that same split, so they are in-sample and read high; results say so.

Protocol (LASER's ``bucc.sh`` and XTREME's ``bucc_eval``):
  1. Each side is reduced to its distinct texts (a few sentences occur under several IDs); the
     distinct texts are mined with ``interlingua.mining.margin.mine_in_memory``: ratio margin,
     k = 4, candidates by ``forward``, ``backward``, ``max`` or ``intersect`` retrieval.
  2. A mined text pair stands for every (zh-ID, en-ID) pair carrying those two texts, with its score.
  3. The threshold is tuned for F1 against the gold ID pairs: candidates are taken in descending
     score, cut only where the score strictly drops (tied candidates are kept or dropped together);
     the best cut (the highest on equal F1) gives precision, recall and F1.  The reported threshold
     is the midpoint between the last kept score and the next lower one (the lowest score when all
     are kept): keeping the pairs with score >= threshold reproduces the cut.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from interlingua.data.corpora import resolve_data_root
from interlingua.data.textio import iter_lines
from interlingua.errors import ConfigError, DataError
from interlingua.evaluation.folders import task_folder
from interlingua.evaluation.report import format_table
from interlingua.mining.margin import mine_in_memory
from interlingua.models.encode import SentenceEncoder
from interlingua.provenance import data_file_hashes

BUCC_FOLDER = "bucc2018_zh-en_sample"
SPLIT = "sample"
NEIGHBOURS = 4
MARGIN = "ratio"
MODES = ("forward", "backward", "max", "intersect")


@dataclass(frozen=True)
class BuccData:
    """The two sides (ID -> text) and the gold ID pairs."""

    data_root: Path
    source: dict[str, str]
    target: dict[str, str]
    gold: set[tuple[str, str]]
    files: list[Path]

    def sentences(self) -> list[str]:
        return [*self.source.values(), *self.target.values()]


@dataclass(frozen=True)
class ThresholdChoice:
    """The F1-optimal cut of a scored candidate list."""

    threshold: float
    precision: float
    recall: float
    f1: float
    kept: int
    correct: int


@dataclass(frozen=True)
class BuccResult:
    """Precision, recall, F1 (percent) and threshold per candidate retrieval mode."""

    per_mode: dict[str, ThresholdChoice]
    gold_pairs: int
    source_sentences: int
    target_sentences: int
    data_files: dict[str, str]

    protocol = (
        f"BUCC 2018 zh-en mining on the {SPLIT} split (the test split is not available): ratio margin, "
        f"k={NEIGHBOURS}, over distinct texts; threshold tuned for F1 on this same split (in-sample)"
    )

    def summary(self) -> dict[str, float]:
        return {f"F1 ({mode}, {SPLIT} split)": choice.f1 for mode, choice in self.per_mode.items()}

    def to_table(self) -> str:
        rows: list[list[Any]] = [
            [mode, c.precision, c.recall, c.f1, f"{c.threshold:.4f}", c.kept, c.correct]
            for mode, c in self.per_mode.items()
        ]
        return format_table(
            ["mode", "precision", "recall", "F1", "threshold", "kept", "correct"],
            rows,
            title=f"BUCC 2018 zh-en, {SPLIT.upper()} split, {self.gold_pairs} gold pairs "
            f"(ratio margin k={NEIGHBOURS}; threshold tuned on this split)",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "task": "bucc",
            "protocol": self.protocol,
            "split": SPLIT,
            "note": "the sample split, not the test split papers report; threshold tuned on the same split",
            "settings": {
                "pair": "zh-en",
                "margin": MARGIN,
                "k": NEIGHBOURS,
                "modes": list(self.per_mode),
                "deduplicate_texts": True,
                "threshold_rule": "keep candidates with score >= threshold",
            },
            "gold_pairs": self.gold_pairs,
            "sentences": {"zh": self.source_sentences, "en": self.target_sentences},
            "per_mode": {
                mode: {
                    "precision": c.precision,
                    "recall": c.recall,
                    "f1": c.f1,
                    "threshold": c.threshold,
                    "kept": c.kept,
                    "correct": c.correct,
                }
                for mode, c in self.per_mode.items()
            },
            "summary": self.summary(),
            "data_files": self.data_files,
        }


def _read_sentences(path: Path) -> dict[str, str]:
    sentences: dict[str, str] = {}
    for number, line in iter_lines(path):
        identifier, tab, text = line.partition("\t")
        if not tab:
            raise DataError(path, "expected ID<TAB>sentence", number)
        if identifier in sentences:
            raise DataError(path, f"ID {identifier!r} occurs twice", number)
        sentences[identifier] = text
    return sentences


def load_bucc(data_root: str | Path | None) -> BuccData:
    """Read the zh-en sample split."""
    root = resolve_data_root(data_root)
    folder = task_folder(root, BUCC_FOLDER)
    source_path, target_path, gold_path = (
        folder / f"zh-en.{SPLIT}.{part}.xz" for part in ("zh", "en", "gold")
    )
    source, target = _read_sentences(source_path), _read_sentences(target_path)
    gold = set()
    for number, line in iter_lines(gold_path):
        fields = tuple(line.split("\t"))
        if len(fields) != 2:
            raise DataError(gold_path, "expected zh-ID<TAB>en-ID", number)
        if fields[0] not in source or fields[1] not in target:
            raise DataError(
                gold_path, f"gold pair {fields} names an ID missing from the sentence files", number
            )
        gold.add(fields)
    if not gold:
        raise DataError(gold_path, "no gold pairs")
    return BuccData(root, source, target, gold, [source_path, target_path, gold_path])


def optimise_threshold(
    candidates: Sequence[tuple[float, str, str]], gold: set[tuple[str, str]]
) -> ThresholdChoice:
    """The F1-best cut of scored ID-pair candidates (see the module docstring for the rule)."""
    if not gold:
        raise ConfigError("cannot tune a threshold without gold pairs")
    ordered = sorted(candidates, key=lambda candidate: -candidate[0])
    best = ThresholdChoice(threshold=float("inf"), precision=0.0, recall=0.0, f1=0.0, kept=0, correct=0)
    correct = 0
    for position, (score, source_id, target_id) in enumerate(ordered):
        correct += (source_id, target_id) in gold
        is_last = position + 1 == len(ordered)
        if not is_last and ordered[position + 1][0] == score:
            continue
        kept = position + 1
        precision, recall = correct / kept, correct / len(gold)
        f1 = 200 * precision * recall / (precision + recall) if correct else 0.0
        if f1 > best.f1:
            threshold = score if is_last else (score + ordered[position + 1][0]) / 2
            best = ThresholdChoice(threshold, 100 * precision, 100 * recall, f1, kept, correct)
    return best


def mine_id_pairs(
    source_vectors: np.ndarray,
    target_vectors: np.ndarray,
    source_ids_by_row: Sequence[Sequence[str]],
    target_ids_by_row: Sequence[Sequence[str]],
    mode: str,
) -> list[tuple[float, str, str]]:
    """Mine distinct-text rows, then expand each mined row pair to all its ID pairs."""
    mined = mine_in_memory(source_vectors, target_vectors, k=NEIGHBOURS, margin=MARGIN, mode=mode)
    return [
        (score, source_id, target_id)
        for score, source_row, target_row in mined
        for source_id in source_ids_by_row[source_row]
        for target_id in target_ids_by_row[target_row]
    ]


def _ids_by_distinct_text(sentences: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    ids_by_text: dict[str, list[str]] = defaultdict(list)
    for identifier, text in sentences.items():
        ids_by_text[text].append(identifier)
    return list(ids_by_text), list(ids_by_text.values())


def score_bucc(encoder: SentenceEncoder, data: BuccData, modes: Sequence[str] = MODES) -> BuccResult:
    source_texts, source_ids = _ids_by_distinct_text(data.source)
    target_texts, target_ids = _ids_by_distinct_text(data.target)
    source_vectors, target_vectors = encoder.encode(source_texts), encoder.encode(target_texts)
    per_mode = {
        mode: optimise_threshold(
            mine_id_pairs(source_vectors, target_vectors, source_ids, target_ids, mode), data.gold
        )
        for mode in modes
    }
    return BuccResult(
        per_mode,
        len(data.gold),
        len(data.source),
        len(data.target),
        data_file_hashes(data.data_root, data.files),
    )


def evaluate_bucc(
    encoder: SentenceEncoder, data_root: str | Path | None = None, modes: Sequence[str] = MODES
) -> BuccResult:
    """BUCC zh-en (sample split) precision, recall, F1 and threshold for each retrieval mode."""
    return score_bucc(encoder, load_bucc(data_root), modes)
