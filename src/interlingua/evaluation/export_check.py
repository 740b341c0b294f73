"""The accuracy-and-speed check of an export: the source model and its export on the same Tatoeba
sentences, in the same process.

``check_export`` encodes Tatoeba test sets with both, with the same prefix, maximum length, batch
size and thread count, and records both accuracies, the difference in points and the encoding speed
of each in the export's JSON.  It scores with evaluation, so it lives here, above both
``models/export.py`` (which writes and loads exports) and the evaluation tasks.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from interlingua.errors import ConfigError
from interlingua.evaluation.report import format_table
from interlingua.evaluation.tatoeba import TatoebaData, score_tatoeba
from interlingua.models.encode import SentenceEncoder, load_encoder
from interlingua.models.export import load_export
from interlingua.models.runtime import read_export_info
from interlingua.provenance import data_file_hashes

DEFAULT_CHECK_LANGUAGES = "deu,fra,spa,rus,tur"


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


def _check_run(
    label: str, encoder: SentenceEncoder, sentences: list[str], data: TatoebaData, repeats: int
) -> EncoderRun:
    speed, seconds, vectors = measure_speed(encoder, sentences, repeats=repeats)
    result = score_tatoeba(_Precomputed(label, sentences, vectors), data)
    per_language = {code: score.average for code, score in result.per_language.items()}
    return EncoderRun(label, result.average, per_language, speed, seconds)


def check_export(
    folder: str | Path,
    data: TatoebaData,
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
    import torch  # here: the command line registers ``export`` with this module, without torch

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
