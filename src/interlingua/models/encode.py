"""One encoding interface for every model the toolkit evaluates, mines or exports with.

``SentenceEncoder`` is the protocol: ``encode(sentences) -> float32 array (n, dim)``, rows
L2-normalised so that a dot product is a cosine.  ``load_encoder`` turns a model path or hub name
into one, backed by sentence-transformers, or by ONNX Runtime for a folder written by
``interlingua export``.  Other backends (numpy-only models) implement the same protocol and can be
passed wherever an encoder is expected.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from interlingua.errors import ConfigError
from interlingua.validation import check_model_reference


@runtime_checkable
class SentenceEncoder(Protocol):
    """Anything that maps sentences to L2-normalised float32 vectors."""

    name: str

    def encode(self, sentences: Sequence[str], *, show_progress: bool = False) -> np.ndarray: ...


def unique_sentences(sentences: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Distinct sentences in first-seen order, and for each input the row of its distinct copy."""
    index: dict[str, int] = {}
    rows = np.fromiter(
        (index.setdefault(s, len(index)) for s in sentences), dtype=np.int64, count=len(sentences)
    )
    return list(index), rows


def non_blank_sentences(sentences: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Like ``unique_sentences``, with the row -1 for every blank input (empty or whitespace only).

    The one rule for blank lines, whatever the encoder: they are not encoded (a model given no
    piece fails or returns its padding) and get a zero vector (``spread_rows``), so that rows
    still match line numbers and a blank line matches nothing."""
    blank = np.fromiter((not s.strip() for s in sentences), dtype=bool, count=len(sentences))
    distinct, rows = unique_sentences([s for s, empty in zip(sentences, blank, strict=True) if not empty])
    all_rows = np.full(len(sentences), -1, dtype=np.int64)
    all_rows[~blank] = rows
    return distinct, all_rows


def spread_rows(vectors: np.ndarray, rows: np.ndarray, dimension: int) -> np.ndarray:
    """``vectors[rows]`` as contiguous float32, with a zero row where ``rows`` is -1."""
    out = np.zeros((len(rows), dimension), dtype=np.float32)
    out[rows >= 0] = vectors[rows[rows >= 0]]
    return out


class SentenceTransformerEncoder:
    """A sentence-transformers model behind the ``SentenceEncoder`` protocol.

    Each distinct sentence is encoded once; sentence-transformers batches them sorted by length so
    that padding stays small.  ``prefix`` is prepended to every input (e5 models need "query: ").
    """

    def __init__(self, model, *, name: str, prefix: str = "", batch_size: int = 128) -> None:
        self.model = model
        self.name = name
        self.prefix = prefix
        self.batch_size = batch_size

    def encode(self, sentences: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        distinct, rows = non_blank_sentences(sentences)
        if not distinct:
            return np.zeros((len(sentences), self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            [self.prefix + s for s in distinct],
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return spread_rows(vectors, rows, self.dimension)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())


def load_encoder(
    model: str | Path, *, prefix: str = "", batch_size: int = 128, device: str | None = None
) -> SentenceEncoder:
    """Load a sentence-transformers model folder (or hub name) as a ``SentenceEncoder``.

    A plain ``transformers`` encoder folder (no ``modules.json``) is wrapped with mean pooling.  A
    folder written by ``interlingua export`` (``models.export``) loads as its ONNX or int8 encoder,
    on the CPU, with the prefix recorded at export unless ``prefix`` is given.  ONNX exports and
    static models on the CPU load without torch (``models.runtime``).
    """
    from interlingua.models.runtime import is_export_folder, load_runtime_encoder, runtime_kind

    path = Path(model)
    if device in (None, "cpu") and runtime_kind(path) is not None:
        return load_runtime_encoder(path, prefix=prefix, batch_size=batch_size)
    if is_export_folder(path):
        if device not in (None, "cpu"):
            raise ConfigError(f"{path}: an exported model runs on the CPU only, not on {device}")
        from interlingua.models.export import load_export

        return load_export(path, prefix=prefix, batch_size=batch_size)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:  # an install with the runtime extra only
        raise ConfigError(
            f"{model}: this model needs torch and sentence-transformers ({error}); without them only "
            "ONNX exports and static models encode"
        ) from None

    if path.exists() and not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise ConfigError(f"{path}: not a model folder (no modules.json or config.json)")
    check_model_reference(str(model))
    try:
        st_model = SentenceTransformer(str(model), device=device or "cpu")
    except OSError as error:
        raise ConfigError(f"{model}: cannot load model: {error}") from error
    return SentenceTransformerEncoder(st_model, name=str(model), prefix=prefix, batch_size=batch_size)


def encode_file(
    model: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    *,
    prefix: str = "",
    batch_size: int = 128,
) -> np.ndarray:
    """Encode every line of ``input_path`` into the ``.npy`` file ``output_path`` (exactly that
    name), one row per line: blank lines included, as zero vectors, so rows match line numbers.
    The file is replaced only once complete: a failed write keeps the previous one."""
    from interlingua.atomic import check_output_file, save_npy
    from interlingua.data.textio import read_lines
    from interlingua.errors import DataError

    check_output_file(output_path)
    sentences = read_lines(input_path)
    if not any(sentence.strip() for sentence in sentences):
        problem = "file is empty" if not sentences else f"all {len(sentences)} lines are blank"
        raise DataError(input_path, f"{problem}: nothing to encode")
    encoder = load_encoder(model, prefix=prefix, batch_size=batch_size)
    matrix = encoder.encode(sentences, show_progress=True)
    save_npy(output_path, matrix)
    report_coverage(encoder, sentences, str(input_path))
    return matrix


def coverage(encoder: SentenceEncoder, sentences: Sequence[str]) -> tuple[int, int] | None:
    """How many non-blank inputs the model truncates, and how many it reads as unknown pieces only
    (a script its vocabulary has not seen), or None for an encoder without a transformers tokenizer.

    Both are encoded without an error, into vectors that say little about the sentence."""
    model = getattr(encoder, "model", None)
    tokenizer = getattr(model, "tokenizer", None)
    if getattr(tokenizer, "unk_token_id", None) is None or not getattr(model, "max_seq_length", None):
        return None
    distinct, rows = non_blank_sentences(sentences)
    counts = np.bincount(rows[rows >= 0], minlength=len(distinct))
    prefix = getattr(encoder, "prefix", "")
    ids = tokenizer([prefix + s for s in distinct], add_special_tokens=True, truncation=False, verbose=False)[
        "input_ids"
    ]
    # Pieces that carry no text of their own: special tokens, and word-boundary markers ("▁", "Ġ")
    # that a tokenizer emits before an unknown piece as before any word.
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    special |= {
        i
        for i, token in enumerate(tokenizer.convert_ids_to_tokens(range(len(tokenizer))))
        if not token.strip("▁Ġ ")
    }
    truncated = sum(
        int(n) for n, pieces in zip(counts, ids, strict=True) if len(pieces) > model.max_seq_length
    )
    unknown = sum(
        int(n)
        for n, pieces in zip(counts, ids, strict=True)
        if all(piece == tokenizer.unk_token_id for piece in pieces if piece not in special)
    )
    return truncated, unknown


def report_coverage(encoder: SentenceEncoder, sentences: Sequence[str], source: str) -> None:
    """A line on stderr when inputs were truncated or unreadable (see ``coverage``)."""
    counts = coverage(encoder, sentences)
    if counts is None or not any(counts):
        return
    truncated, unknown = counts
    print(
        f"{source}: {truncated} of {len(sentences)} lines truncated to the model's "
        f"{encoder.model.max_seq_length} pieces; {unknown} of only unknown pieces (an unseen script)",
        file=sys.stderr,
    )
