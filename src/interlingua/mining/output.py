"""The last stages: threshold or top-N, de-duplication, and the TSV of mined pairs.

Candidates arrive sorted by descending score.  A threshold keeps those scoring at least it (LASER
keeps scores strictly above; the two differ only on exact ties).  Scores are float32, written in
the shortest form that reads back as the same float32, and thresholds are compared in float32, so
a score copied from the output as a threshold keeps that pair.  De-duplication drops a pair whose
source and target sentences are both equal to those of a better-scoring pair (compared through the
64-bit line hashes of the text stores); top-N then keeps the N best remaining pairs.

Each output line is ``score<TAB>source sentence<TAB>target sentence<TAB>source id<TAB>target id``,
where an id is the 1-based line number, or the ID column of inputs in the BUCC format.  The file
is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from interlingua.atomic import atomic_file
from interlingua.data.textio import open_text_writer
from interlingua.mining.store import TextStore

WRITE_CHUNK = 16384
# An odd 64-bit constant (the golden ratio's): mixes the target hash before combining, so that
# swapping source and target sentences does not give the same pair key.
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Selection:
    """Which candidates are written, in order, and how many each filter removed."""

    kept: np.ndarray
    candidates: int
    below_threshold: int
    duplicates: int
    beyond_top_n: int

    def counts(self) -> dict:
        summary = asdict(self)
        summary.pop("kept")
        summary["written"] = len(self.kept)
        return summary


def filter_candidates(
    scores: np.ndarray,
    pair_keys: np.ndarray,
    *,
    threshold: float | None = None,
    top_n: int | None = None,
    dedup: bool = True,
) -> Selection:
    """Positions of the candidates to write, given scores sorted descending and a key per pair."""
    positions = np.arange(len(scores))
    if threshold is not None:
        positions = positions[scores >= np.float32(threshold)]
    above = len(positions)
    if dedup and above:
        _, first = np.unique(pair_keys[positions], return_index=True)
        positions = positions[np.sort(first)]
    unique = len(positions)
    if top_n is not None:
        positions = positions[:top_n]
    return Selection(
        kept=positions,
        candidates=len(scores),
        below_threshold=len(scores) - above,
        duplicates=above - unique,
        beyond_top_n=unique - len(positions),
    )


def pair_keys(src_hashes: np.ndarray, tgt_hashes: np.ndarray) -> np.ndarray:
    """One 64-bit key per (source sentence, target sentence) pair, from the two sentence hashes."""
    with np.errstate(over="ignore"):
        return src_hashes ^ (tgt_hashes * _MIX)


def format_score(score: np.float32) -> str:
    """The shortest decimal that reads back as the same float32 (e.g. ``1.0769231``)."""
    return np.format_float_positional(np.float32(score), unique=True, trim="-")


def write_pairs(
    path: Path,
    scores: np.ndarray,
    src_lines: np.ndarray,
    tgt_lines: np.ndarray,
    src_texts: TextStore,
    tgt_texts: TextStore,
    *,
    show_progress: bool = False,
) -> None:
    """Write the TSV of pairs (lines are 0-based line numbers of the two inputs), atomically."""
    with (
        atomic_file(path) as temporary,
        open_text_writer(temporary) as out,
        tqdm(
            total=len(scores), desc="write", unit="pair", disable=not show_progress, dynamic_ncols=True
        ) as bar,
    ):
        for start in range(0, len(scores), WRITE_CHUNK):
            stop = start + WRITE_CHUNK
            sources = src_texts.read(src_lines[start:stop])
            targets = tgt_texts.read(tgt_lines[start:stop])
            out.write(
                "".join(
                    f"{format_score(score)}\t{src_sentence}\t{tgt_sentence}\t{src_id}\t{tgt_id}\n"
                    for score, (src_id, src_sentence), (tgt_id, tgt_sentence) in zip(
                        scores[start:stop].astype(np.float32), sources, targets, strict=True
                    )
                )
            )
            bar.update(len(sources))
