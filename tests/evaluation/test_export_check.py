"""The export check: the source model and its export scored on the same Tatoeba sentences, timed,
and recorded in the export's JSON."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest

from interlingua.evaluation.export_check import check_export
from interlingua.evaluation.tatoeba import TatoebaData, TatoebaPair
from interlingua.models.export import export_model
from interlingua.models.runtime import EXPORT_INFO

GERMAN = ["ein kleines haus", "das ist gut", "der hund schläft im garten"]
ENGLISH = ["a small house", "that is good", "the dog sleeps in the garden"]


def _write_xz(path: Path, lines: list[str]) -> Path:
    with lzma.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def test_check_records_accuracy_and_speed(tiny_model, tmp_path):
    folder = tmp_path / "export"
    export_model(tiny_model, folder, max_length=12)
    files = (_write_xz(tmp_path / "own.xz", GERMAN), _write_xz(tmp_path / "eng.xz", ENGLISH))
    data = TatoebaData(tmp_path, [TatoebaPair("deu", GERMAN, ENGLISH, files)])
    check = check_export(folder, data, repeats=2, threads=1)
    assert check.sentences == 6 and check.threads == 1 and len(check.export.seconds) == 2
    assert check.reference.label == "pytorch fp32" and check.export.label == "onnx fp32"
    assert check.delta_points == pytest.approx(0.0, abs=1e-9)  # fp32: the same retrievals
    assert check.reference.sentences_per_second > 0 and check.speedup > 0
    recorded = json.loads((folder / EXPORT_INFO).read_text())["check"]
    assert recorded["reference"]["tatoeba_average"] == check.reference.tatoeba_average
    assert recorded["delta_points"] == check.delta_points
    assert "onnx fp32" in check.to_table() and "sentences/s" in check.to_table()
