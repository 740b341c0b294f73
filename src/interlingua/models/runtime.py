"""Encoders that run without torch, sentence-transformers or transformers: ONNX exports and static models.

They need only numpy, the ``tokenizers`` library, and ONNX Runtime (ONNX exports) or safetensors
(static models), each imported when a model is loaded: ``interlingua encode`` with such a model
starts in a fraction of a second, and runs where torch is not installed (the ``runtime`` extra;
README, "Encoding without torch").  This module imports nothing heavier at module level.

* An **ONNX export** is a folder written by ``interlingua export onnx`` (``models.export``): a graph
  ``(input_ids, attention_mask) -> sentence_embedding`` holding the whole model and its L2
  normalisation, the tokenizer as ``tokenizer.json`` and the export's description ``EXPORT_INFO``.
* A **static model** is a sentence-transformers folder whose first module is ``StaticEmbedding``
  (one vector per tokenizer piece; a sentence is the mean of its pieces' vectors) followed by
  nothing but ``Normalize`` modules.  ``StaticEncoder`` computes what sentence-transformers computes:
  the pieces of ``tokenizer.json`` without special tokens and without padding (truncated only if the
  tokenizer file says so), the mean of their rows of ``embedding.weight``, L2-normalised; text
  without pieces gets the zero vector, as ``EmbeddingBag`` gives it.

Blank lines get the zero vector without being encoded, as with every encoder
(``models.encode.non_blank_sentences``).

``runtime_kind(path)`` says which of the two a folder is (``None``: it needs sentence-transformers),
and ``load_runtime_encoder(path)`` loads it behind the ``SentenceEncoder`` protocol.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interlingua.errors import ConfigError
from interlingua.models.encode import SentenceEncoder, non_blank_sentences, spread_rows

EXPORT_INFO = "interlingua_export.json"
FORMATS = ("onnx", "torch-int8")
RUNTIME_KINDS = ("onnx", "static")
RUNTIME_EXTRA = "pip install 'interlingua[runtime]' (onnxruntime, tokenizers, safetensors, numpy)"
ONNX_INPUTS = ("input_ids", "attention_mask")
ONNX_OUTPUT = "sentence_embedding"
_MODULES_FILE = "modules.json"
_STATIC_WEIGHTS = "embedding.weight"


@dataclass
class ExportInfo:
    """What ``EXPORT_INFO`` holds: enough to load the export and to trace it to its source."""

    format: str
    source_model: str
    source_sha256: str | None
    model_file: str
    sha256: str
    int8: bool
    max_length: int
    prefix: str
    dimension: int
    opset: int | None = None
    exporter: str | None = None
    quantization: str | None = None
    modules: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    check: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, folder: Path) -> None:
        (folder / EXPORT_INFO).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def is_export_folder(path: str | Path) -> bool:
    """True for a folder written by ``export_model`` (it holds ``EXPORT_INFO``)."""
    return (Path(path) / EXPORT_INFO).is_file()


def read_export_info(folder: str | Path) -> ExportInfo:
    """The export description of ``folder``; a ``ConfigError`` if it is missing or malformed."""
    path = Path(folder) / EXPORT_INFO
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        info = ExportInfo(**document)
    except FileNotFoundError:
        raise ConfigError(f"{folder}: not an export folder (no {EXPORT_INFO})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as error:
        raise ConfigError(f"{path}: not a valid export description: {error}") from None
    if info.format not in FORMATS:
        raise ConfigError(f"{path}: unknown export format {info.format!r}")
    return info


def verify_export(folder: Path, info: ExportInfo) -> Path:
    """The export's model file, after checking that it is there and has the recorded SHA-256."""
    from interlingua.atomic import sha256_file

    path = folder / info.model_file
    if not path.is_file():
        raise ConfigError(f"{folder}: export incomplete, {info.model_file} is missing")
    if sha256_file(path) != info.sha256:
        raise ConfigError(f"{path}: SHA-256 differs from {EXPORT_INFO}; the file was changed or damaged")
    return path


# --- which kind of folder -----------------------------------------------------------------------


def _module_types(folder: Path) -> list[tuple[str, str]]:
    """``(class name, module folder)`` of each module in a sentence-transformers ``modules.json``."""
    try:
        modules = json.loads((folder / _MODULES_FILE).read_text(encoding="utf-8"))
        return [(module["type"].rsplit(".", 1)[-1], module.get("path", "")) for module in modules]
    except FileNotFoundError:
        return []
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError, AttributeError) as error:
        raise ConfigError(f"{folder / _MODULES_FILE}: not a valid module list: {error}") from None


def _is_static(folder: Path) -> bool:
    names = [name for name, _ in _module_types(folder)]
    return bool(names) and names[0] == "StaticEmbedding" and all(n == "Normalize" for n in names[1:])


def runtime_kind(path: str | Path) -> str | None:
    """``"onnx"`` for an ONNX export, ``"static"`` for a static model, ``None`` for anything else
    (a transformer model, a torch-int8 export, a hub name), which needs sentence-transformers."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    if is_export_folder(folder):
        return "onnx" if read_export_info(folder).format == "onnx" else None
    return "static" if _is_static(folder) else None


def load_runtime_encoder(
    path: str | Path, *, prefix: str = "", batch_size: int = 128, threads: int | None = None
) -> SentenceEncoder:
    """The torch-free encoder of an ONNX export or a static model folder (see ``runtime_kind``).

    ``prefix`` is prepended to every sentence (for an ONNX export, when given, it replaces the one
    recorded at export); ``threads`` is ONNX Runtime's intra-op thread count.
    """
    kind = runtime_kind(path)
    if kind == "onnx":
        return load_onnx_export(path, prefix=prefix, batch_size=batch_size, threads=threads)
    if kind == "static":
        return load_static_model(path, prefix=prefix, batch_size=batch_size)
    raise ConfigError(
        f"{path}: neither an ONNX export nor a static model; this model needs sentence-transformers"
    )


# --- shared -------------------------------------------------------------------------------------


def _tokenizer(path: Path):
    """The ``tokenizers`` tokenizer saved in ``path`` (``tokenizer.json``), without padding."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ConfigError(f"encoding without torch needs the tokenizers package: {RUNTIME_EXTRA}") from None
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # the Rust library raises plain Exceptions for unreadable files
        raise ConfigError(f"{path}: cannot load the tokenizer: {error}") from error
    tokenizer.no_padding()
    return tokenizer


def _progress(name: str, total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sent", desc=name, disable=not show)


# --- ONNX exports -------------------------------------------------------------------------------


def _default_threads() -> int:
    """torch's thread count when torch is loaded (so ``--threads`` and OMP_NUM_THREADS apply to both
    backends), else 0: ONNX Runtime's own choice, one thread per physical core."""
    import sys

    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else 0


class OnnxEncoder:
    """An ONNX export behind the ``SentenceEncoder`` protocol.

    Each distinct sentence is tokenised once (with the prefix and the special tokens, truncated to
    ``max_length``), the sentences are sorted by token count and run in batches padded with
    ``pad_id`` (on the left when ``pad_left``) only to the longest of the batch.  The ONNX Runtime
    session starts at the first ``encode``, with ``threads`` intra-op threads (default: torch's
    setting at that moment, so a caller that sets threads after loading is obeyed).
    """

    def __init__(
        self,
        model_file: str | Path,
        tokenizer,
        *,
        name: str,
        dimension: int,
        max_length: int,
        pad_id: int = 0,
        pad_left: bool = False,
        prefix: str = "",
        batch_size: int = 128,
        threads: int | None = None,
    ) -> None:
        self.model_file = Path(model_file)
        self.tokenizer = tokenizer
        self.name = name
        self.dimension = dimension
        self.max_length = max_length
        self.pad_id = pad_id
        self.pad_left = pad_left
        self.prefix = prefix
        self.batch_size = batch_size
        self.threads = threads
        self._session = None

    @property
    def session(self):
        if self._session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads if self.threads is not None else _default_threads()
            options.inter_op_num_threads = 1
            try:
                self._session = onnxruntime.InferenceSession(
                    str(self.model_file), options, providers=["CPUExecutionProvider"]
                )
            except Exception as error:  # ONNX Runtime raises its own exception types
                raise ConfigError(f"{self.model_file}: cannot load ONNX model: {error}") from error
        return self._session

    def encode(self, sentences: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        distinct, rows = non_blank_sentences(sentences)
        encodings = self.tokenizer.encode_batch([self.prefix + s for s in distinct])
        token_ids = [encoding.ids for encoding in encodings]
        order = np.argsort(np.fromiter(map(len, token_ids), dtype=np.int64), kind="stable")
        vectors = np.empty((len(distinct), self.dimension), dtype=np.float32)
        with _progress(self.name, len(distinct), show_progress) as bar:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                vectors[batch] = self._run([token_ids[i] for i in batch])
                bar.update(len(batch))
        return spread_rows(vectors, rows, self.dimension)

    def _run(self, token_ids: list[list[int]]) -> np.ndarray:
        width = max(1, *(len(ids) for ids in token_ids))
        input_ids = np.full((len(token_ids), width), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            span = slice(width - len(ids), width) if self.pad_left else slice(0, len(ids))
            input_ids[row, span] = ids
            attention_mask[row, span] = 1
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return self.session.run([ONNX_OUTPUT], feeds)[0]


def _tokenizer_settings(folder: Path) -> dict[str, Any]:
    """``tokenizer_config.json``, where transformers keeps the pad token and the padding and
    truncation sides that ``tokenizer.json`` does not record."""
    try:
        return json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{folder / 'tokenizer_config.json'}: not valid JSON: {error}") from None


def _export_tokenizer(folder: Path, max_length: int) -> tuple[Any, int, bool]:
    """The export's tokenizer truncating to ``max_length`` as transformers does, its pad id, and
    whether it pads on the left."""
    settings = _tokenizer_settings(folder)
    tokenizer = _tokenizer(folder / "tokenizer.json")
    tokenizer.enable_truncation(max_length, direction=settings.get("truncation_side", "right"))
    pad = settings.get("pad_token")
    pad = pad.get("content") if isinstance(pad, dict) else pad
    pad_id = tokenizer.token_to_id(pad) if pad is not None else None
    return tokenizer, pad_id if pad_id is not None else 0, settings.get("padding_side", "right") == "left"


def load_onnx_export(
    folder: str | Path,
    *,
    prefix: str = "",
    batch_size: int = 128,
    threads: int | None = None,
    verify: bool = True,
) -> OnnxEncoder:
    """An ``OnnxEncoder`` over an ONNX export folder; ``prefix`` (when given) replaces the recorded one."""
    folder = Path(folder)
    info = read_export_info(folder)
    if info.format != "onnx":
        raise ConfigError(f"{folder}: a {info.format} export, not an ONNX one")
    path = verify_export(folder, info) if verify else folder / info.model_file
    try:
        import onnxruntime  # noqa: F401  (fail here, with the install line, not at the first batch)
    except ImportError:
        raise ConfigError(f"loading an ONNX export needs onnxruntime: {RUNTIME_EXTRA}") from None
    tokenizer, pad_id, pad_left = _export_tokenizer(folder, info.max_length)
    return OnnxEncoder(
        path,
        tokenizer,
        name=str(folder),
        dimension=info.dimension,
        max_length=info.max_length,
        pad_id=pad_id,
        pad_left=pad_left,
        prefix=prefix or info.prefix,
        batch_size=batch_size,
        threads=threads,
    )


# --- static models ------------------------------------------------------------------------------


class StaticEncoder:
    """A static model (one vector per piece, a sentence the mean of its pieces) behind the
    ``SentenceEncoder`` protocol, in numpy: equal to sentence-transformers' ``StaticEmbedding``
    followed by L2 normalisation."""

    def __init__(
        self, weights: np.ndarray, tokenizer, *, name: str, prefix: str = "", batch_size: int = 128
    ) -> None:
        self.weights = weights
        self.tokenizer = tokenizer
        self.name = name
        self.prefix = prefix
        self.batch_size = batch_size

    @property
    def dimension(self) -> int:
        return int(self.weights.shape[1])

    def encode(self, sentences: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        distinct, rows = non_blank_sentences(sentences)
        vectors = np.zeros((len(distinct), self.dimension), dtype=np.float32)
        with _progress(self.name, len(distinct), show_progress) as bar:
            for start in range(0, len(distinct), self.batch_size):
                batch = distinct[start : start + self.batch_size]
                vectors[start : start + len(batch)] = self._mean_vectors(batch)
                bar.update(len(batch))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.maximum(norms, 1e-12)  # torch's F.normalize: a zero row stays zero
        return spread_rows(vectors, rows, self.dimension)

    def _mean_vectors(self, sentences: list[str]) -> np.ndarray:
        """The mean piece vector of each sentence (``EmbeddingBag(mode="mean")``); zeros without pieces."""
        texts = [self.prefix + s for s in sentences]
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        flat = np.fromiter(itertools.chain.from_iterable(e.ids for e in encodings), dtype=np.int64)
        sums = np.zeros((len(sentences), self.dimension), dtype=np.float32)
        filled = lengths > 0  # reduceat would return a row, not zeros, for an empty segment
        if filled.any():
            starts = (np.cumsum(lengths) - lengths)[filled]
            sums[filled] = np.add.reduceat(self.weights[flat], starts, axis=0)
        return sums / np.maximum(lengths, 1)[:, None].astype(np.float32)


def _static_weights(path: Path) -> np.ndarray:
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:
        raise ConfigError(f"loading a static model needs safetensors: {RUNTIME_EXTRA}") from None
    try:
        with safe_open(str(path), framework="np") as tensors:
            if _STATIC_WEIGHTS not in tensors.keys():  # noqa: SIM118  (safe_open is no dict)
                raise ConfigError(f"{path}: no {_STATIC_WEIGHTS} tensor; not a StaticEmbedding module")
            weights = tensors.get_tensor(_STATIC_WEIGHTS)
    except (OSError, SafetensorError, TypeError) as error:
        raise ConfigError(f"{path}: cannot read the static embeddings: {error}") from error
    if weights.ndim != 2:
        raise ConfigError(f"{path}: {_STATIC_WEIGHTS} has shape {weights.shape}, not (pieces, dimension)")
    return weights.astype(np.float32, copy=False)


def load_static_model(folder: str | Path, *, prefix: str = "", batch_size: int = 128) -> StaticEncoder:
    """A ``StaticEncoder`` over a sentence-transformers folder whose first module is ``StaticEmbedding``
    (its files in the folder itself, as sentence-transformers 6 saves it, or in the module's folder)."""
    folder = Path(folder)
    if not _is_static(folder):
        raise ConfigError(f"{folder}: not a static model (StaticEmbedding, then only Normalize modules)")
    module = folder / _module_types(folder)[0][1]
    weights = _static_weights(module / "model.safetensors")
    tokenizer = _tokenizer(module / "tokenizer.json")
    if tokenizer.get_vocab_size() > weights.shape[0]:
        raise ConfigError(
            f"{module}: the tokenizer has {tokenizer.get_vocab_size()} pieces but the table "
            f"{weights.shape[0]} rows; the two files do not belong together"
        )
    return StaticEncoder(weights, tokenizer, name=str(folder), prefix=prefix, batch_size=batch_size)
