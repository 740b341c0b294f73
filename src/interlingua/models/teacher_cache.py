"""The teacher's embeddings of a training set, computed once per distinct sentence and kept on disk.

Distillation needs teacher(y) for every English sentence y it trains on.  Encoding them on the fly
costs a teacher forward pass per step (the teacher is often 10x the student), and again in every
run.  Instead the distinct sentences are encoded once, with a progress bar, into
``ROOT/KEY/embeddings.npy``, which later runs open memory-mapped.  KEY is a SHA-256 of what the
numbers depend on: the teacher's content (``interlingua.atomic.model_fingerprint``; its name for a
hub model), the prefix, and the sentences themselves, so a changed teacher folder or data set never
reuses stale rows, and an unchanged one never pays twice.  The default ROOT is
``$INTERLINGUA_CACHE/teacher`` (``~/.cache/interlingua/teacher``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from interlingua.atomic import model_fingerprint, save_npy, write_json

EMBEDDINGS = "embeddings.npy"


def default_cache_root() -> Path:
    base = os.environ.get("INTERLINGUA_CACHE") or Path.home() / ".cache" / "interlingua"
    return Path(base) / "teacher"


def teacher_width(teacher: str) -> int | None:
    """The width of a local teacher's embeddings, read from its config files without loading it
    (None where they do not say: a hub name, or a model with a projection after its pooling)."""
    path = Path(teacher)
    modules = path / "modules.json"
    try:
        if modules.is_file():
            entries = json.loads(modules.read_text(encoding="utf-8"))
            if any("Dense" in entry.get("type", "") for entry in entries):
                return None
            pooling = next(entry for entry in entries if entry.get("type", "").endswith("Pooling"))
            config = json.loads((path / pooling["path"] / "config.json").read_text(encoding="utf-8"))
            return config.get("embedding_dimension") or config.get("word_embedding_dimension")
        return json.loads((path / "config.json").read_text(encoding="utf-8")).get("hidden_size")
    except (OSError, ValueError, StopIteration, KeyError):
        return None


def cache_key(teacher: str, prefix: str, sentences: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for part in (model_fingerprint(teacher) or teacher, prefix):
        digest.update(part.encode("utf-8") + b"\0")
    for sentence in sentences:
        digest.update(sentence.encode("utf-8") + b"\n")
    return digest.hexdigest()[:32]


def teacher_embeddings(
    teacher: str,
    sentences: Sequence[str],
    *,
    prefix: str = "",
    cache_root: str | Path | None = None,
    batch_size: int = 128,
) -> tuple[np.ndarray, bool]:
    """Rows aligned with ``sentences`` (which should be distinct), memory-mapped from the cache, and
    whether they were already there."""
    folder = Path(cache_root or default_cache_root()) / cache_key(teacher, prefix, sentences)
    path = folder / EMBEDDINGS
    if path.is_file():
        rows = np.load(path, mmap_mode="r")
        if rows.shape[0] == len(sentences):
            return rows, True
    from interlingua.models.encoder import load_pretrained_encoder

    model = load_pretrained_encoder(teacher)
    matrix = model.encode(
        [prefix + sentence for sentence in sentences],
        batch_size=batch_size,
        show_progress_bar=True,
        convert_to_numpy=True,
        normalize_embeddings=False,
    ).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    save_npy(path, matrix)
    write_json(folder / "about.json", {"teacher": teacher, "prefix": prefix, "sentences": len(sentences)})
    return np.load(path, mmap_mode="r"), False


def rows_for(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order, and each text's row among them."""
    index: dict[str, int] = {}
    rows = np.fromiter(
        (index.setdefault(text, len(index)) for text in texts), dtype=np.int64, count=len(texts)
    )
    return list(index), rows
