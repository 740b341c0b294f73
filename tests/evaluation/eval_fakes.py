"""Test doubles for the evaluation tests: encoders with known vectors, and writing small data files."""

from __future__ import annotations

import hashlib
import lzma
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np


class TableEncoder:
    """A ``SentenceEncoder`` that looks every sentence up in a fixed table of vectors.

    ``normalise`` is applied to a sentence before the lookup (a lower-casing model, for instance);
    sentences missing from the table get a deterministic pseudo-random vector.
    """

    def __init__(
        self,
        table: Mapping[str, Sequence[float]],
        *,
        normalise: Callable[[str], str] = str,
        dim: int | None = None,
    ) -> None:
        self.name = "table-encoder"
        self.normalise = normalise
        self.table = {key: np.asarray(vector, dtype=np.float32) for key, vector in table.items()}
        self.dim = dim or len(next(iter(self.table.values())))
        self.calls: list[int] = []
        self.inputs: list[str] = []

    def _vector(self, sentence: str) -> np.ndarray:
        key = self.normalise(sentence)
        if key in self.table:
            vector = self.table[key]
        else:
            seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector

    def encode(self, sentences: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        self.calls.append(len(sentences))
        self.inputs.extend(sentences)
        if not sentences:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(s) for s in sentences]).astype(np.float32)


def write_xz_lines(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)
    return path


def aligned_oracle(
    own: Sequence[str], english: Sequence[str], *, normalise: Callable[[str], str] = str
) -> TableEncoder:
    """A perfect aligner: line i of either side maps to basis vector e_i.

    A (normalised) text found on several lines maps to the normalised sum of their basis vectors,
    so copies of a text tie exactly with each other.
    """
    lines_of: dict[str, list[int]] = {}
    for index, (a, b) in enumerate(zip(own, english, strict=True)):
        for text in (a, b):
            lines_of.setdefault(normalise(text), []).append(index)
    table = {}
    for key, lines in lines_of.items():
        vector = np.zeros(len(own), dtype=np.float32)
        vector[sorted(set(lines))] = 1.0
        table[key] = vector
    return TableEncoder(table, normalise=normalise)
