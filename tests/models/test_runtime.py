"""The torch-free runtime: a static model encodes exactly as sentence-transformers does, folders are
recognised by kind, and ``interlingua encode`` with a static model or an ONNX export runs (fast) in a
process where torch, transformers and sentence-transformers cannot be imported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Normalize, StaticEmbedding

from interlingua.errors import ConfigError
from interlingua.models.encode import load_encoder
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
from interlingua.models.export import export_model
from interlingua.models.runtime import (
    OnnxEncoder,
    StaticEncoder,
    load_runtime_encoder,
    load_static_model,
    runtime_kind,
)
from interlingua.models.tokenizer import train_tokenizer

CORPUS = ["ein kleines haus", "a small house", "das ist gut", "that is good", "der hund schläft"] * 20
SENTENCES = [
    "das ist gut",
    "a small house",
    "das ist gut",  # duplicate: the very same row
    "der hund schläft im garten, das ist gut so",
    "ünbekannte zeichen ☃ 漢字",  # pieces outside the vocabulary: the unknown piece
    "",  # blank: the zero row, as for every encoder
    "x",
]
BLOCKED = ("torch", "transformers", "sentence_transformers")


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(CORPUS, vocab_size=120)


def save_static(tokenizer, folder: Path, *, normalize: bool = True, extra=()) -> Path:
    torch.manual_seed(0)
    modules = [StaticEmbedding(tokenizer, embedding_dim=16), *([Normalize()] if normalize else []), *extra]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


@pytest.fixture(scope="module")
def static_dir(tokenizer, tmp_path_factory) -> Path:
    return save_static(tokenizer, tmp_path_factory.mktemp("static") / "model")


@pytest.fixture(scope="module")
def onnx_dir(tokenizer, tmp_path_factory) -> Path:
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=32, heads=2, ffn=64))
    source = tmp_path_factory.mktemp("tiny") / "model"
    model.save(str(source))
    export_model(source, source.parent / "onnx", max_length=16)
    return source.parent / "onnx"


def reference(folder: Path, sentences: list[str], prefix: str = "") -> np.ndarray:
    """What sentence-transformers gives, with the toolkit's rule for blank lines (zero rows)."""
    vectors = SentenceTransformer(str(folder), device="cpu").encode(
        [prefix + s for s in sentences], normalize_embeddings=True
    )
    return np.where(np.array([[bool(s.strip())] for s in sentences]), vectors, 0.0)


@pytest.mark.parametrize("normalize", [True, False])
def test_static_encoder_equals_sentence_transformers(tokenizer, tmp_path, normalize):
    folder = save_static(tokenizer, tmp_path / "model", normalize=normalize)
    encoder = load_encoder(folder)
    assert isinstance(encoder, StaticEncoder) and encoder.dimension == 16
    vectors = encoder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 16) and vectors.dtype == np.float32
    assert np.abs(vectors - reference(folder, SENTENCES)).max() < 1e-6
    assert (vectors[0] == vectors[2]).all() and not vectors[5].any()
    nonblank = [i for i, s in enumerate(SENTENCES) if s]
    assert np.allclose(np.linalg.norm(vectors[nonblank], axis=1), 1.0, atol=1e-6)


def test_prefix_and_batches(static_dir):
    one_batch = load_static_model(static_dir).encode(SENTENCES)
    assert np.abs(load_static_model(static_dir, batch_size=2).encode(SENTENCES) - one_batch).max() < 1e-6
    prefixed = load_runtime_encoder(static_dir, prefix="der ").encode(SENTENCES[:2])
    assert np.abs(prefixed - reference(static_dir, SENTENCES[:2], prefix="der ")).max() < 1e-6
    assert np.abs(prefixed - one_batch[:2]).max() > 1e-3  # the prefix did reach the tokenizer


def test_module_files_in_their_own_folder(static_dir, tmp_path):
    """Older sentence-transformers versions save the module in ``0_StaticEmbedding/``."""
    folder = shutil.copytree(static_dir, tmp_path / "model")
    (folder / "0_StaticEmbedding").mkdir()
    for name in ("model.safetensors", "tokenizer.json"):
        (folder / name).rename(folder / "0_StaticEmbedding" / name)
    modules = json.loads((folder / "modules.json").read_text())
    modules[0]["path"] = "0_StaticEmbedding"
    (folder / "modules.json").write_text(json.dumps(modules))
    expected = load_static_model(static_dir).encode(SENTENCES)
    assert np.abs(load_static_model(folder).encode(SENTENCES) - expected).max() == 0


def test_runtime_kind(tokenizer, static_dir, onnx_dir, tmp_path):
    assert runtime_kind(static_dir) == "static" and runtime_kind(onnx_dir) == "onnx"
    assert isinstance(load_runtime_encoder(onnx_dir), OnnxEncoder)
    transformer = Path(read_source(onnx_dir))
    dense = save_static(tokenizer, tmp_path / "dense", extra=[Dense(16, 8)])
    for folder in (transformer, dense, tmp_path / "missing", "org/hub-name"):
        assert runtime_kind(folder) is None
    with pytest.raises(ConfigError, match="needs sentence-transformers"):
        load_runtime_encoder(dense)
    assert not isinstance(load_encoder(dense), StaticEncoder)  # still loads, with sentence-transformers


def read_source(export_folder: Path) -> str:
    return json.loads((export_folder / "interlingua_export.json").read_text())["source_model"]


def test_broken_static_folders(tokenizer, static_dir, tmp_path):
    small = save_static(train_tokenizer(CORPUS[:2], vocab_size=40), tmp_path / "small")
    mixed = shutil.copytree(static_dir, tmp_path / "mixed")
    shutil.copy(small / "model.safetensors", mixed / "model.safetensors")
    with pytest.raises(ConfigError, match="do not belong together"):
        load_runtime_encoder(mixed)
    (mixed / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ConfigError, match="cannot read the static embeddings"):
        load_runtime_encoder(mixed)
    (mixed / "modules.json").write_text("[{")
    with pytest.raises(ConfigError, match="not a valid module list"):
        load_encoder(mixed)


def test_static_model_needs_no_export(static_dir, tmp_path):
    with pytest.raises(ConfigError, match="needs no export"):
        export_model(static_dir, tmp_path / "out")


# --- the torch-free process ---------------------------------------------------------------------


def test_runtime_module_imports_nothing_heavy():
    code = "import sys, interlingua.models.runtime; print(sorted(set(sys.modules) & {m!r}))"
    heavy = {*BLOCKED, "onnxruntime", "tokenizers", "safetensors", "interlingua.evaluation"}
    out = subprocess.run([sys.executable, "-c", code.replace("{m!r}", repr(heavy))], capture_output=True)
    assert out.returncode == 0 and out.stdout.decode().strip() == "[]", out.stderr.decode()


def torch_free_run(model: Path, tmp_path: Path, sentences: list[str]):
    """``interlingua encode`` in a new process that cannot import torch, transformers or
    sentence-transformers; the finished process and its whole wall time."""
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in BLOCKED)
    )
    (tmp_path / "in.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    paths = [str(shim), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [sys.executable, "-m", "interlingua", "encode", "--model", str(model)]
    command += ["--input", str(tmp_path / "in.txt"), "--output", str(tmp_path / "out.npy")]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    return done, time.perf_counter() - started


def torch_free_encode(model: Path, tmp_path: Path, sentences: list[str]) -> tuple[np.ndarray, float]:
    """The vectors and the wall time of ``torch_free_run``, which must succeed."""
    done, seconds = torch_free_run(model, tmp_path, sentences)
    assert done.returncode == 0, done.stderr
    return np.load(tmp_path / "out.npy"), seconds


@pytest.mark.parametrize("kind", ["static", "onnx"])
def test_encode_without_torch(kind, static_dir, onnx_dir, tmp_path):
    folder = static_dir if kind == "static" else onnx_dir
    vectors, _ = torch_free_encode(folder, tmp_path, SENTENCES)
    assert np.abs(vectors - load_encoder(folder).encode(SENTENCES)).max() < 1e-6


@pytest.mark.parametrize("kind", ["static", "onnx"])
def test_one_sentence_starts_fast(kind, static_dir, onnx_dir, tmp_path):
    """The bar is 2 s on a 2-core machine (measured 0.5-0.7 s, docs/benchmarks.md); 4 s leaves room
    for a loaded CI machine while still failing if torch (about 8 s) comes back on this path."""
    folder = static_dir if kind == "static" else onnx_dir
    seconds = min(torch_free_encode(folder, tmp_path, ["Der Hund schläft."])[1] for _ in range(2))
    print(f"interlingua encode, one sentence, {kind}: {seconds:.2f} s whole process")
    assert seconds < 4.0


def test_transformer_model_without_torch_is_one_line(onnx_dir, tmp_path):
    done, _ = torch_free_run(Path(read_source(onnx_dir)), tmp_path, ["Der Hund schläft."])
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "needs torch and sentence-transformers" in done.stderr
