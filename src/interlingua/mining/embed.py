"""The embedding stage: every mined sentence of one side as a unit vector in an on-disk matrix.

Vectors come either from an encoder (``interlingua.models.encode``) run over the text in shards,
or from precomputed embeddings of any encoder: a ``.npy`` matrix, or LASER's raw format (float32,
or float16 with ``fp16``, rows of ``dim`` values).  Either way each shard is L2-normalised (as
LASER does with ``faiss.normalize_L2``), stored as float32 or float16, and marked done, so an
interrupted run re-does at most one shard per side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from interlingua.errors import DataError
from interlingua.mining.store import MatrixFile, RangeProgress, TextStore


@dataclass(frozen=True)
class EmbeddingFile:
    """Precomputed embeddings of one side: ``.npy``, or LASER's raw format when ``dim`` is given."""

    path: Path
    dim: int | None = None
    fp16: bool = False

    def open(self) -> np.ndarray:
        """The matrix as a read-only memory map, after checking that it is a 2-D float array."""
        if not self.path.is_file():
            raise DataError(self.path, "file not found" if not self.path.exists() else "not a regular file")
        if self.dim is not None:
            dtype = np.dtype(np.float16 if self.fp16 else np.float32)
            size = self.path.stat().st_size
            if self.dim <= 0 or size % (self.dim * dtype.itemsize):
                raise DataError(
                    self.path,
                    f"size {size} bytes is not a whole number of {dtype.name} rows of dimension {self.dim}",
                )
            return np.memmap(
                self.path, dtype=dtype, mode="r", shape=(size // (self.dim * dtype.itemsize), self.dim)
            )
        try:
            matrix = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as error:
            raise DataError(
                self.path, f"not a .npy array file ({error}); for LASER's raw format give --dim"
            ) from None
        if matrix.ndim != 2 or matrix.dtype.kind != "f":
            raise DataError(
                self.path, f"expected a 2-D float matrix, found shape {matrix.shape} of type {matrix.dtype}"
            )
        return matrix

    def shape(self) -> tuple[int, int]:
        matrix = self.open()
        shape = matrix.shape
        del matrix
        return shape


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32; an all-zero row stays zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1).astype(np.float32)


def embed_rows(
    lines: np.ndarray,
    vectors_of: Callable[[np.ndarray], np.ndarray],
    output: MatrixFile,
    progress: RangeProgress,
    shard_rows: int,
    *,
    description: str,
    show_progress: bool = False,
) -> None:
    """Store ``vectors_of(lines[a:b])`` for every unfinished shard ``a:b``, normalised.

    ``lines`` maps each output row to its input line (0-based); ``vectors_of`` returns one vector
    per line.
    """
    dtype = np.load(output.path, mmap_mode="r").dtype
    with tqdm(
        total=progress.total,
        initial=progress.rows_done(),
        desc=description,
        unit="sent",
        disable=not show_progress,
        dynamic_ncols=True,
    ) as bar:
        for start, stop in progress.pending(shard_rows):
            output.write(start, embed_shard(lines[start:stop], vectors_of, dtype))
            progress.mark(start, stop)
            bar.update(stop - start)


def embed_shard(
    lines: np.ndarray, vectors_of: Callable[[np.ndarray], np.ndarray], dtype: np.dtype
) -> np.ndarray:
    """The stored vectors of one shard: ``vectors_of(lines)`` normalised and cast to ``dtype``.

    The unit of work of both engines, so that a shard stored by a Ray worker has the same bytes.
    """
    return l2_normalise(vectors_of(lines)).astype(dtype)


def precomputed_vectors(source: EmbeddingFile) -> Callable[[np.ndarray], np.ndarray]:
    """Reader of the rows of precomputed embeddings, refusing NaN and infinite values."""

    def vectors_of(lines: np.ndarray) -> np.ndarray:
        matrix = source.open()
        vectors = np.array(matrix[lines], dtype=np.float32)
        del matrix
        finite = np.isfinite(vectors).all(axis=1)
        if not finite.all():
            bad_line = int(lines[np.flatnonzero(~finite)[0]]) + 1
            raise DataError(source.path, "embedding contains NaN or infinity", bad_line)
        return vectors

    return vectors_of


def encoded_vectors(encoder, texts: TextStore) -> Callable[[np.ndarray], np.ndarray]:
    """Encoder of the sentences on the given lines of ``texts``."""

    def vectors_of(lines: np.ndarray) -> np.ndarray:
        sentences = [sentence for _, sentence in texts.read(lines)]
        return encoder.encode(sentences)

    return vectors_of
