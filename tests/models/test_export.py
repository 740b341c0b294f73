"""ONNX and torch int8 exports of a tiny random encoder: equal to PyTorch (fp32), close (int8), loadable
through ``load_encoder``, checked against the original, and refused with one clear line when broken."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from interlingua.errors import ConfigError
from interlingua.models.encode import SentenceTransformerEncoder, load_encoder
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
from interlingua.models.export import export_model, load_export
from interlingua.models.runtime import EXPORT_INFO, OnnxEncoder, read_export_info
from interlingua.models.tokenizer import train_tokenizer

CORPUS = [
    "ein kleines haus",
    "a small house",
    "das ist gut",
    "that is good",
    "der hund schläft im garten",
    "the dog sleeps in the garden",
]
SENTENCES = [
    "das ist gut",
    "a small house",
    "das ist gut",  # duplicate: must get the very same row
    "ein kleines haus ist gut und der hund schläft im garten, das ist gut so",  # truncated at 12
    "x",
    "",  # empty: no tokens at all, still a finite vector
    "the dog sleeps",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    tokenizer = train_tokenizer(CORPUS * 20, vocab_size=120)
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=2, hidden=64, heads=4, ffn=128))
    folder = tmp_path_factory.mktemp("tiny") / "model"
    model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def fp32_dir(model_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "fp32"
    export_model(model_dir, folder, max_length=12)
    return folder


@pytest.fixture(scope="module")
def int8_dir(model_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "int8"
    export_model(model_dir, folder, int8=True, max_length=12)
    return folder


@pytest.fixture(scope="module")
def reference(model_dir) -> SentenceTransformerEncoder:
    encoder = load_encoder(model_dir)
    encoder.model.max_seq_length = 12
    return encoder


def test_fp32_onnx_matches_pytorch(fp32_dir, reference):
    encoder = load_encoder(fp32_dir)
    assert isinstance(encoder, OnnxEncoder)
    vectors = encoder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 64) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    assert (vectors[0] == vectors[2]).all()
    expected = reference.encode(SENTENCES)
    nonempty = [i for i, s in enumerate(SENTENCES) if s]
    assert cosines(vectors, expected)[nonempty].min() > 1 - 1e-4
    assert np.allclose(np.linalg.norm(vectors[nonempty], axis=1), 1.0, atol=1e-5)
    # the truncated sentence really is longer than the export's limit
    assert len(reference.model.tokenizer(SENTENCES[3])["input_ids"]) > 12


def test_export_folder_describes_itself(fp32_dir, model_dir):
    info = read_export_info(fp32_dir)
    assert (info.format, info.int8, info.max_length, info.dimension) == ("onnx", False, 12, 64)
    assert info.prefix == "" and info.quantization is None
    assert info.opset >= 17 and info.source_model == str(model_dir.resolve())
    assert info.modules == ["Transformer", "Pooling(mean)", "L2 normalise"]
    assert info.sha256 == hashlib.sha256((fp32_dir / "model.onnx").read_bytes()).hexdigest()
    assert (fp32_dir / "tokenizer.json").is_file()


def test_batches_and_prefix_do_not_change_the_graph(fp32_dir, reference):
    """Padding is masked (batch size 2 pads differently from one batch); a load-time prefix is used."""
    one_batch = load_export(fp32_dir).encode(SENTENCES)
    small_batches = load_export(fp32_dir, batch_size=2, threads=1).encode(SENTENCES)
    assert np.abs(one_batch - small_batches).max() < 1e-5
    prefixed = load_encoder(fp32_dir, prefix="der ").encode(SENTENCES[:2])
    reference.prefix = "der "
    try:
        assert cosines(prefixed, reference.encode(SENTENCES[:2])).min() > 1 - 1e-4
    finally:
        reference.prefix = ""
    assert cosines(prefixed, one_batch[:2]).max() < 1 - 1e-3  # the prefix did reach the model


def test_int8_onnx_is_close_to_fp32_but_quantised(fp32_dir, int8_dir):
    fp32 = load_encoder(fp32_dir).encode(SENTENCES[:5])
    int8 = load_encoder(int8_dir).encode(SENTENCES[:5])
    # a random tiny encoder maps unrelated sentences to cosine ~0.8, so 0.999 does discriminate
    assert cosines(fp32, int8).min() > 0.999
    assert np.abs(fp32 - int8).max() > 1e-4  # it did change the arithmetic
    assert read_export_info(int8_dir).int8
    assert (int8_dir / "model.onnx").stat().st_size < 0.6 * (fp32_dir / "model.onnx").stat().st_size


def test_torch_int8_export(model_dir, reference, tmp_path):
    info = export_model(model_dir, tmp_path / "q", format="torch-int8", max_length=12, prefix="query: ")
    assert (info.format, info.int8, info.prefix, info.opset) == ("torch-int8", True, "query: ", None)
    encoder = load_encoder(tmp_path / "q")
    assert encoder.prefix == "query: "
    assert any("quantized" in type(module).__module__ for module in encoder.model.modules())
    reference.prefix = "query: "
    try:
        expected = reference.encode(SENTENCES[:5])
    finally:
        reference.prefix = ""
    vectors = encoder.encode(SENTENCES[:5])
    assert cosines(vectors, expected).min() > 0.999
    assert np.abs(vectors - expected).max() > 1e-4


def test_failed_export_leaves_no_half_written_folder(model_dir, tmp_path, monkeypatch):
    import interlingua.models.export as export

    def fail(model, path, **options):
        path.write_bytes(b"partial")
        raise ConfigError("cannot export to ONNX (torchscript exporter): unsupported operator")

    monkeypatch.setattr(export, "_export_onnx", fail)
    with pytest.raises(ConfigError, match="unsupported operator"):
        export_model(model_dir, tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="unsupported operator"):
        export_model(model_dir, tmp_path / "empty", int8=True)
    assert list((tmp_path / "empty").iterdir()) == []


def test_clear_errors(model_dir, fp32_dir, tmp_path):
    with pytest.raises(ConfigError, match="no such folder"):
        export_model(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(ConfigError, match="not a model folder"):
        export_model(tmp_path, tmp_path / "out")
    with pytest.raises(ConfigError, match="already an export"):
        export_model(fp32_dir, tmp_path / "out")
    with pytest.raises(ConfigError, match=r"outside 1\.\.64"):
        export_model(model_dir, tmp_path / "out", max_length=65)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        export_model(model_dir, tmp_path / "busy")
    with pytest.raises(ConfigError, match="unknown export format"):
        export_model(model_dir, tmp_path / "out", format="tflite")
    with pytest.raises(ConfigError, match="too old"):
        export_model(model_dir, tmp_path / "out", opset=11)
    assert not (tmp_path / "out").exists()

    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.onnx", "tokenizer.json", "tokenizer_config.json", EXPORT_INFO):
        (broken / name).write_bytes((fp32_dir / name).read_bytes())
    (broken / "model.onnx").write_bytes((fp32_dir / "model.onnx").read_bytes()[:-10])
    with pytest.raises(ConfigError, match="SHA-256 differs"):
        load_encoder(broken)
    (broken / EXPORT_INFO).write_text("{not json")
    with pytest.raises(ConfigError, match="not a valid export description"):
        load_encoder(broken)
    with pytest.raises(ConfigError, match="CPU only"):
        load_encoder(fp32_dir, device="cuda")
