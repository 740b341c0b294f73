"""Export a sentence-transformers model for fast CPU encoding, and load the export back.

Two formats, both written to a folder that ``load_encoder`` recognises by its ``EXPORT_INFO`` file:

* ``onnx``: one ONNX graph ``(input_ids, attention_mask) -> sentence_embedding`` holding the
  transformer, the model's pooling (and any later modules) and the L2 normalisation, with dynamic
  batch and sequence axes; optionally int8 (ONNX Runtime dynamic quantisation: int8 weights of the
  matrix products and embeddings, one scale per output channel, activations quantised on the fly).
  ``OnnxEncoder`` (``models.runtime``, with the export's description) runs it with ONNX Runtime and
  the tokenizer saved beside it, so neither torch nor sentence-transformers is imported to encode.
  The graph is traced with torch's TorchScript exporter by default: for BERT and XLM-R encoders
  under transformers 5 it exports in about a second and reproduces PyTorch to 1e-7, where the
  dynamo exporter takes several times longer for the same graph (it stays available, and writes
  opset 18 or newer).
* ``torch-int8``: the model folder as it is; ``load_export`` applies torch's dynamic int8
  quantisation to every ``nn.Linear`` when loading (a deterministic function of the fp32 weights,
  so nothing quantised needs storing).

The export's JSON records the source model and its fingerprint, the SHA-256 of the model file
(verified on load), the opset, int8 or not, the maximum length and the input prefix.  The check of
an export's accuracy and speed against its source model is ``evaluation/export_check.py``: it scores
both on Tatoeba, so it sits above evaluation, and this module stays below it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from interlingua.atomic import model_fingerprint, sha256_file
from interlingua.errors import ConfigError
from interlingua.models.encode import SentenceEncoder
from interlingua.models.runtime import (
    FORMATS,
    ONNX_INPUTS,
    ONNX_OUTPUT,
    ExportInfo,
    is_export_folder,
    load_onnx_export,
    read_export_info,
    runtime_kind,
    verify_export,
)
from interlingua.provenance import package_versions, utc_now

ONNX_FILE = "model.onnx"
TORCH_FILE = "model.safetensors"
EXPORTERS = ("torchscript", "dynamo")
DEFAULT_OPSET = 17
ONNX_EXTRA = "pip install 'interlingua[onnx]' (onnx, onnxruntime, onnxscript)"


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
        "input_names": list(ONNX_INPUTS),
        "output_names": [ONNX_OUTPUT],
        "opset_version": opset,
    }
    if exporter == "dynamo":
        batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=max_length)
        options["dynamic_shapes"] = ({0: batch, 1: sequence}, {0: batch, 1: sequence})
        options.update(dynamo=True, external_data=False, verbose=False)
    else:
        axes = {0: "batch", 1: "sequence"}
        options["dynamic_axes"] = {"input_ids": axes, "attention_mask": axes, ONNX_OUTPUT: {0: "batch"}}
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
    return package_versions(*(("onnx", "onnxruntime", "onnxscript") if format == "onnx" else ()))


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
    if runtime_kind(source) == "static":
        raise ConfigError(
            f"{source}: a static model needs no export: it already encodes without torch, in numpy "
            "(interlingua encode, or models.runtime.load_runtime_encoder)"
        )
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
    info.sha256 = sha256_file(output / info.model_file)
    info.save(output)
    return info


# --- loading ------------------------------------------------------------------------------------


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
    if info.format == "onnx":
        return load_onnx_export(folder, prefix=prefix, batch_size=batch_size, threads=threads, verify=verify)
    if verify:
        verify_export(folder, info)
    return _load_torch_int8(folder, info, prefix=prefix or info.prefix, batch_size=batch_size)


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
