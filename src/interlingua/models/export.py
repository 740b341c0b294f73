"""Export a sentence-transformers model for fast CPU encoding, load the export back, and check it.

Two formats, both written to a folder that ``load_encoder`` recognises by its ``EXPORT_INFO`` file:

* ``onnx``: one ONNX graph ``(input_ids, attention_mask) -> sentence_embedding`` holding the
  transformer, the model's pooling (and any later modules) and the L2 normalisation, with dynamic
  batch and sequence axes; optionally int8 (ONNX Runtime dynamic quantisation: int8 weights of the
  matrix products and embeddings, one scale per output channel, activations quantised on the fly).
  ``OnnxEncoder`` runs it with ONNX Runtime and the tokenizer saved beside it, so neither torch nor
  sentence-transformers runs at encoding time.  The graph is traced with torch's TorchScript
  exporter by default: for BERT and XLM-R encoders under transformers 5 it exports in about a
  second and reproduces PyTorch to 1e-7, where the dynamo exporter takes several times longer for
  the same graph (it stays available, and writes opset 18 or newer).
* ``torch-int8``: the model folder as it is; ``load_export`` applies torch's dynamic int8
  quantisation to every ``nn.Linear`` when loading (a deterministic function of the fp32 weights,
  so nothing quantised needs storing).

The export's JSON records the source model and its fingerprint, the SHA-256 of the model file
(verified on load), the opset, int8 or not, the maximum length and the input prefix.  ``check_export``
encodes Tatoeba test sets with the source model and the export in the same process and records both
accuracies, the difference in points and the encoding speed of each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import statistics
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interlingua.errors import ConfigError
from interlingua.models.encode import SentenceEncoder, unique_sentences

EXPORT_INFO = "interlingua_export.json"
ONNX_FILE = "model.onnx"
TORCH_FILE = "model.safetensors"
FORMATS = ("onnx", "torch-int8")
EXPORTERS = ("torchscript", "dynamo")
DEFAULT_OPSET = 17
DEFAULT_CHECK_LANGUAGES = "deu,fra,spa,rus,tur"
ONNX_EXTRA = "pip install 'interlingua[onnx]' (onnx, onnxruntime, onnxscript)"
_INPUTS = ("input_ids", "attention_mask")
_OUTPUT = "sentence_embedding"


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


# --- export -------------------------------------------------------------------------------------


def _embedding_graph(model):
    """The model's modules plus a final L2 normalisation, as one module of two tensors."""
    import torch
    import torch.nn.functional as functional

    class EmbeddingGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stages = torch.nn.ModuleList(list(model))

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            for stage in self.stages:
                features = stage(features)
            return functional.normalize(features["sentence_embedding"], p=2, dim=-1)

    return EmbeddingGraph().eval()


def _length_limit(model) -> int:
    """The longest input the model can take: its tokenizer's and its position table's limit."""
    limits = [int(model.tokenizer.model_max_length)]
    config = getattr(getattr(model[0], "auto_model", None), "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        limits.append(int(positions))
    return min(limits)


def _probe_inputs(model, length: int):
    """Two rows, the second padded, so that tracing sees a real mask and keeps both axes symbolic."""
    import torch

    tokenizer = model.tokenizer
    token = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.full((2, length), token, dtype=torch.long)
    attention_mask = torch.ones((2, length), dtype=torch.long)
    if length > 1:
        cut = max(1, length // 2)
        input_ids[1, cut:] = pad
        attention_mask[1, cut:] = 0
    return input_ids, attention_mask


def _export_onnx(model, path: Path, *, opset: int, exporter: str, max_length: int) -> None:
    import torch

    try:
        import onnx  # noqa: F401  (torch.onnx needs it, and says so less clearly)
    except ImportError:
        raise ConfigError(f"ONNX export needs the onnx packages: {ONNX_EXTRA}") from None
    graph = _embedding_graph(model)
    inputs = _probe_inputs(model, min(8, max_length))
    options: dict[str, Any] = {
        "input_names": list(_INPUTS),
        "output_names": [_OUTPUT],
        "opset_version": opset,
    }
    if exporter == "dynamo":
        batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=max_length)
        options["dynamic_shapes"] = ({0: batch, 1: sequence}, {0: batch, 1: sequence})
        options.update(dynamo=True, external_data=False, verbose=False)
    else:
        axes = {0: "batch", 1: "sequence"}
        options["dynamic_axes"] = {"input_ids": axes, "attention_mask": axes, _OUTPUT: {0: "batch"}}
        options["dynamo"] = False
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings about code paths not taken
        try:
            torch.onnx.export(graph, inputs, str(path), **options)
        except Exception as error:  # the exporters raise many types; all mean "cannot export"
            raise ConfigError(f"cannot export to ONNX ({exporter} exporter): {error}") from error


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """Drop ONNX Runtime's root-logger advice to pre-process the graph first: its symbolic shape
    inference fails on these graphs, and the quantised result is checked against fp32 anyway."""

    def keep(record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _quantize_onnx(source: Path, target: Path) -> str:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales: on multilingual-e5-small they raise the mean cosine to the fp32 vectors
    # from 0.990 to 0.997 at the same speed.
    with _quiet_quantizer():
        quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True)
    return "onnxruntime quantize_dynamic: int8 weights per channel, uint8 activations quantised at run time"


def _onnx_opset(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return max(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def _versions(format: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from interlingua.evaluation.provenance import package_versions

    versions = package_versions()
    for package in ("onnx", "onnxruntime", "onnxscript") if format == "onnx" else ():
        with contextlib.suppress(PackageNotFoundError):
            versions[package] = version(package)
    return versions


def _module_names(model) -> list[str]:
    names = []
    for module in model:
        mode = getattr(module, "pooling_mode", None)
        suffix = f"({mode if isinstance(mode, str) else '+'.join(mode)})" if mode else ""
        names.append(type(module).__name__ + suffix)
    return [*names, "L2 normalise"]


def _check_output(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ConfigError(f"{output}: output folder exists and is not empty; choose a new folder")


def export_model(
    model: str | Path,
    output: str | Path,
    *,
    format: str = "onnx",
    int8: bool = False,
    max_length: int | None = None,
    prefix: str = "",
    opset: int = DEFAULT_OPSET,
    exporter: str = "torchscript",
) -> ExportInfo:
    """Export the sentence-transformers model at ``model`` into the new folder ``output``.

    ``max_length`` (default: the model's ``max_seq_length``) is where the export truncates inputs;
    ``prefix`` is prepended to every sentence by whoever loads the export (e5 models: "query: ").
    ``int8`` applies to ONNX; ``torch-int8`` is int8 by definition.
    """
    from interlingua.models.encode import load_encoder

    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if exporter not in EXPORTERS:
        raise ConfigError(f"unknown exporter {exporter!r}; choose one of {', '.join(EXPORTERS)}")
    if format == "onnx" and opset < 14:
        raise ConfigError(f"opset {opset} is too old for transformer attention; use 14 or newer")
    source, output = Path(model), Path(output)
    if is_export_folder(source):
        raise ConfigError(f"{source}: is already an export; export the original model folder")
    _check_output(output)
    st_model = load_encoder(model).model
    st_model.eval()
    limit = _length_limit(st_model)
    max_length = int(max_length or min(st_model.max_seq_length or limit, limit))
    if not 1 <= max_length <= limit:
        raise ConfigError(f"--max-length {max_length} is outside 1..{limit}, the range the model accepts")
    st_model.max_seq_length = max_length

    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    try:
        return _write_export(st_model, source, output, format, int8, max_length, prefix, opset, exporter)
    except BaseException:
        _clear(output, remove=created)  # no half-written export to trip over on the next attempt
        raise


def _clear(folder: Path, *, remove: bool) -> None:
    import shutil

    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _write_export(
    st_model,
    source: Path,
    output: Path,
    format: str,
    int8: bool,
    max_length: int,
    prefix: str,
    opset: int,
    exporter: str,
) -> ExportInfo:
    from interlingua.atomic import model_fingerprint
    from interlingua.evaluation.provenance import sha256_file, utc_now

    info = ExportInfo(
        format=format,
        source_model=str(source.resolve()) if source.exists() else str(source),
        source_sha256=model_fingerprint(source) if source.exists() else None,
        model_file=ONNX_FILE if format == "onnx" else TORCH_FILE,
        sha256="",
        int8=int8 or format == "torch-int8",
        max_length=max_length,
        prefix=prefix,
        dimension=int(st_model.get_embedding_dimension()),
        modules=_module_names(st_model),
        versions=_versions(format),
        created=utc_now(),
    )
    if format == "onnx":
        info.exporter = f"torch.onnx ({exporter})"
        if int8:
            staging = output / "model.fp32.onnx"
            _export_onnx(st_model, staging, opset=opset, exporter=exporter, max_length=max_length)
            info.quantization = _quantize_onnx(staging, output / ONNX_FILE)
            staging.unlink()
        else:
            _export_onnx(st_model, output / ONNX_FILE, opset=opset, exporter=exporter, max_length=max_length)
        info.opset = _onnx_opset(output / ONNX_FILE)
        st_model.tokenizer.save_pretrained(str(output))
    else:
        st_model.save(str(output))
        info.quantization = "torch.ao.quantization.quantize_dynamic on nn.Linear (qint8), applied at load"
    info.sha256 = sha256_file.__wrapped__(output / info.model_file)  # uncached: the file is new
    info.save(output)
    return info


# --- loading ------------------------------------------------------------------------------------


def _default_threads() -> int:
    """torch's thread count when torch is loaded (so ``--threads`` and OMP_NUM_THREADS apply to both
    backends), else 0: ONNX Runtime's own choice, one thread per physical core."""
    import sys

    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else 0


class OnnxEncoder:
    """An ONNX export behind the ``SentenceEncoder`` protocol.

    Each distinct sentence is tokenised once (with the prefix, truncated to ``max_length``), the
    sentences are sorted by token count and run in batches padded only to the longest of the batch.
    The ONNX Runtime session starts at the first ``encode``, with ``threads`` intra-op threads
    (default: torch's setting at that moment, so a caller that sets threads after loading is obeyed).
    """

    def __init__(
        self,
        model_file: str | Path,
        tokenizer,
        *,
        name: str,
        dimension: int,
        max_length: int,
        prefix: str = "",
        batch_size: int = 128,
        threads: int | None = None,
    ) -> None:
        self.model_file = Path(model_file)
        self.tokenizer = tokenizer
        self.name = name
        self.dimension = dimension
        self.max_length = max_length
        self.prefix = prefix
        self.batch_size = batch_size
        self.threads = threads
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.pad_left = getattr(tokenizer, "padding_side", "right") == "left"
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
        distinct, rows = unique_sentences(sentences)
        if not distinct:
            return np.zeros((0, self.dimension), dtype=np.float32)
        token_ids = self.tokenizer(
            [self.prefix + s for s in distinct], truncation=True, max_length=self.max_length
        )["input_ids"]
        order = np.argsort(np.fromiter(map(len, token_ids), dtype=np.int64), kind="stable")
        vectors = np.empty((len(distinct), self.dimension), dtype=np.float32)
        from tqdm.auto import tqdm

        with tqdm(total=len(distinct), unit="sent", desc=self.name, disable=not show_progress) as bar:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                vectors[batch] = self._run([token_ids[i] for i in batch])
                bar.update(len(batch))
        return vectors[rows]

    def _run(self, token_ids: list[list[int]]) -> np.ndarray:
        width = max(1, *(len(ids) for ids in token_ids))
        input_ids = np.full((len(token_ids), width), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            span = slice(width - len(ids), width) if self.pad_left else slice(0, len(ids))
            input_ids[row, span] = ids
            attention_mask[row, span] = 1
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return self.session.run([_OUTPUT], feeds)[0]


def _verify(folder: Path, info: ExportInfo) -> Path:
    from interlingua.evaluation.provenance import sha256_file

    path = folder / info.model_file
    if not path.is_file():
        raise ConfigError(f"{folder}: export incomplete, {info.model_file} is missing")
    if sha256_file.__wrapped__(path) != info.sha256:  # uncached: the file may have been rewritten
        raise ConfigError(f"{path}: SHA-256 differs from {EXPORT_INFO}; the file was changed or damaged")
    return path


def load_export(
    folder: str | Path,
    *,
    prefix: str = "",
    batch_size: int = 128,
    threads: int | None = None,
    verify: bool = True,
) -> SentenceEncoder:
    """A ``SentenceEncoder`` over an export folder; ``prefix`` (when given) replaces the recorded one."""
    folder = Path(folder)
    info = read_export_info(folder)
    path = _verify(folder, info) if verify else folder / info.model_file
    prefix = prefix or info.prefix
    if info.format == "torch-int8":
        return _load_torch_int8(folder, info, prefix=prefix, batch_size=batch_size)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError(f"loading an ONNX export needs onnxruntime: {ONNX_EXTRA}") from None
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{folder}: cannot load the export's tokenizer: {error}") from error
    return OnnxEncoder(
        path,
        tokenizer,
        name=str(folder),
        dimension=info.dimension,
        max_length=info.max_length,
        prefix=prefix,
        batch_size=batch_size,
        threads=threads,
    )


def quantize_torch_int8(model):
    """``model`` with every ``nn.Linear`` replaced by torch's dynamically quantised int8 version."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the API is deprecated in favour of torchao, but still works
        try:
            from torch.ao.quantization import quantize_dynamic
        except ImportError:
            raise ConfigError("this torch has no torch.ao.quantization; use the onnx format") from None
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _load_torch_int8(folder: Path, info: ExportInfo, *, prefix: str, batch_size: int) -> SentenceEncoder:
    from sentence_transformers import SentenceTransformer

    from interlingua.models.encode import SentenceTransformerEncoder

    model = SentenceTransformer(str(folder), device="cpu").eval()
    model.max_seq_length = info.max_length
    return SentenceTransformerEncoder(
        quantize_torch_int8(model), name=str(folder), prefix=prefix, batch_size=batch_size
    )


# --- accuracy and speed check -------------------------------------------------------------------


def measure_speed(
    encoder: SentenceEncoder, sentences: Sequence[str], *, repeats: int = 3
) -> tuple[float, list[float], np.ndarray]:
    """Median sentences/s of encoding ``sentences`` ``repeats`` times, the times, and the vectors.

    A few sentences are encoded first so that one-off set-up (sessions, allocator) is not timed.
    """
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, not {repeats}")
    encoder.encode(list(sentences[:8]))
    seconds, vectors = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        vectors = encoder.encode(sentences)
        seconds.append(time.perf_counter() - started)
    return len(sentences) / statistics.median(seconds), seconds, vectors


class _Precomputed:
    """Vectors already computed, served through the ``SentenceEncoder`` protocol."""

    def __init__(self, name: str, sentences: Sequence[str], vectors: np.ndarray) -> None:
        self.name = name
        self._rows = {sentence: row for row, sentence in enumerate(sentences)}
        self._vectors = vectors

    def encode(self, sentences: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._vectors[[self._rows[s] for s in sentences]]


@dataclass(frozen=True)
class EncoderRun:
    """Accuracy and speed of one encoder in the check."""

    label: str
    tatoeba_average: float
    per_language: dict[str, float]
    sentences_per_second: float
    seconds: list[float]


@dataclass(frozen=True)
class ExportCheck:
    """The source model and its export on the same Tatoeba sentences, in the same process."""

    languages: list[str]
    sentences: int
    repeats: int
    threads: int
    batch_size: int
    reference: EncoderRun
    export: EncoderRun
    data_files: dict[str, str]

    @property
    def delta_points(self) -> float:
        """Export accuracy minus PyTorch accuracy, in points (negative: the export lost accuracy)."""
        return self.export.tatoeba_average - self.reference.tatoeba_average

    @property
    def speedup(self) -> float:
        return self.export.sentences_per_second / self.reference.sentences_per_second

    def to_table(self) -> str:
        from interlingua.evaluation.report import format_table

        rows = [
            [run.label, run.tatoeba_average, round(run.sentences_per_second), f"{ratio:.2f}x"]
            for run, ratio in ((self.reference, 1.0), (self.export, self.speedup))
        ]
        title = (
            f"export check: Tatoeba {','.join(self.languages)} ({self.sentences} distinct sentences), "
            f"{self.threads} threads, median of {self.repeats}; delta {self.delta_points:+.2f} points"
        )
        return format_table(["encoder", "tatoeba avg", "sentences/s", "speed"], rows, title=title)

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document.update(delta_points=self.delta_points, speedup=self.speedup)
        return document


def _check_run(label: str, encoder: SentenceEncoder, sentences: list[str], data, repeats: int) -> EncoderRun:
    from interlingua.evaluation.tatoeba import score_tatoeba

    speed, seconds, vectors = measure_speed(encoder, sentences, repeats=repeats)
    result = score_tatoeba(_Precomputed(label, sentences, vectors), data)
    per_language = {code: score.average for code, score in result.per_language.items()}
    return EncoderRun(label, result.average, per_language, speed, seconds)


def check_export(
    folder: str | Path,
    data,
    *,
    repeats: int = 3,
    batch_size: int = 128,
    threads: int | None = None,
) -> ExportCheck:
    """Score the source model and the export in ``folder`` on ``data`` (a ``TatoebaData``), time both,
    and record the result in the export's JSON.

    Both encode the same distinct sentences with the same prefix, maximum length, batch size and
    thread count (``threads``, default torch's).
    """
    import torch

    from interlingua.evaluation.provenance import data_file_hashes
    from interlingua.models.encode import load_encoder

    folder = Path(folder)
    info = read_export_info(folder)
    if threads is not None:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    reference = load_encoder(info.source_model, prefix=info.prefix, batch_size=batch_size)
    reference.model.max_seq_length = info.max_length
    exported = load_export(folder, batch_size=batch_size, threads=threads)
    sentences = list(dict.fromkeys(data.sentences()))
    label = "onnx" if info.format == "onnx" else "torch"
    label += " int8" if info.int8 else " fp32"
    runs = [
        _check_run(name, encoder, sentences, data, repeats)
        for name, encoder in (("pytorch fp32", reference), (label, exported))
    ]
    files = [path for pair in data.pairs for path in pair.files]
    check = ExportCheck(
        languages=[pair.language for pair in data.pairs],
        sentences=len(sentences),
        repeats=repeats,
        threads=threads,
        batch_size=batch_size,
        reference=runs[0],
        export=runs[1],
        data_files=data_file_hashes(data.data_root, files),
    )
    info.check = check.to_json()
    info.save(folder)
    return check
