"""Interrupted runs resume where they stopped, skip finished shards, and give the same output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from interlingua.errors import ConfigError
from interlingua.mining import embed, knn
from interlingua.mining.pipeline import run_mining

from .synthetic import make_corpus, small_block_memory

N_SRC, N_TGT, DIM = 1500, 1200, 16


class Interruption(Exception):
    """Stands for a kill: raised from inside a stage after some shards are done."""


def counting(monkeypatch: pytest.MonkeyPatch, module, name: str, *, fail_after: int | None = None) -> list:
    """Replace ``module.name`` by a wrapper that counts calls and optionally fails after some."""
    original = getattr(module, name)
    calls: list = []

    def wrapper(*args, **kwargs):
        if fail_after is not None and len(calls) == fail_after:
            raise Interruption
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


@pytest.fixture
def corpus(tmp_path: Path):
    return make_corpus(tmp_path / "corpus", N_SRC, N_TGT, DIM)


def test_knn_interrupted_resumes_without_redoing_blocks(corpus, tmp_path: Path, monkeypatch) -> None:
    memory = small_block_memory(N_SRC, N_TGT, DIM)
    reference = run_mining(corpus.config(tmp_path / "reference.tsv", max_memory=memory))
    rows = reference["plan"]["query_rows"]
    total_blocks = math.ceil(N_SRC / rows) + math.ceil(N_TGT / rows)
    assert total_blocks > 10

    interrupted = corpus.config(tmp_path / "pairs.tsv", max_memory=memory)
    with monkeypatch.context() as patch:
        counting(patch, knn, "_search_block", fail_after=7)
        with pytest.raises(Interruption):
            run_mining(interrupted)
    assert not (tmp_path / "pairs.tsv").exists()

    with monkeypatch.context() as patch:
        calls = counting(patch, knn, "_search_block")
        summary = run_mining(interrupted)
    assert len(calls) == total_blocks - 7
    assert summary["stages"]["embed"]["status"] == "reused"
    assert summary["stages"]["knn"]["status"] == "resumed"
    assert (tmp_path / "pairs.tsv").read_bytes() == (tmp_path / "reference.tsv").read_bytes()


def test_embedding_interrupted_resumes_without_redoing_shards(corpus, tmp_path: Path, monkeypatch) -> None:
    memory = small_block_memory(N_SRC, N_TGT, DIM)
    config = corpus.config(tmp_path / "pairs.tsv", max_memory=memory)
    with monkeypatch.context() as patch:
        counting(patch, embed, "l2_normalise", fail_after=2)
        with pytest.raises(Interruption):
            run_mining(config)
    with monkeypatch.context() as patch:
        calls = counting(patch, embed, "l2_normalise")
        summary = run_mining(config)
    shard = summary["plan"]["embed_rows"]
    total_shards = math.ceil(N_SRC / shard) + math.ceil(N_TGT / shard)
    assert total_shards > 3
    assert len(calls) == total_shards - 2
    assert summary["stages"]["embed"]["status"] == "resumed"
    fresh = run_mining(corpus.config(tmp_path / "fresh.tsv", max_memory=memory))
    assert fresh["counts"] == summary["counts"]
    assert (tmp_path / "pairs.tsv").read_bytes() == (tmp_path / "fresh.tsv").read_bytes()


class FakeEncoder:
    """Deterministic vectors from each sentence's number; records what it was asked to encode."""

    dimension = DIM

    def __init__(self, vectors: dict[str, np.ndarray], fail_after_calls: int | None) -> None:
        self.vectors = vectors
        self.fail_after_calls = fail_after_calls
        self.encoded: list[str] = []
        self.calls = 0

    def encode(self, sentences, show_progress: bool = False) -> np.ndarray:
        if self.fail_after_calls is not None and self.calls == self.fail_after_calls:
            raise Interruption
        self.calls += 1
        self.encoded.extend(sentences)
        return np.stack([self.vectors[s] for s in sentences])


def test_model_encoding_resumes_by_shard(corpus, tmp_path: Path, monkeypatch) -> None:
    import interlingua.models.encode as encode_module

    vectors = {f"source sentence {i}": v for i, v in enumerate(corpus.src)}
    vectors |= {f"target sentence {j}": v for j, v in enumerate(corpus.tgt)}
    encoders: list[FakeEncoder] = []

    def fake_loader(model, *, prefix="", batch_size=128, fail_after_calls=None):
        encoders.append(FakeEncoder(vectors, fail_after_calls))
        return encoders[-1]

    memory = small_block_memory(N_SRC, N_TGT, DIM)
    config = corpus.config(
        tmp_path / "pairs.tsv", model="fake", src_embeddings=None, tgt_embeddings=None, max_memory=memory
    )
    interrupting = lambda *args, **kwargs: fake_loader(*args, **kwargs, fail_after_calls=3)  # noqa: E731
    monkeypatch.setattr(encode_module, "load_encoder", interrupting)
    with pytest.raises(Interruption):
        run_mining(config)
    done_first = len(encoders[0].encoded)
    monkeypatch.setattr(encode_module, "load_encoder", fake_loader)
    summary = run_mining(config)
    assert summary["plan"]["embed_rows"] * 3 == done_first
    assert len(encoders[-1].encoded) == N_SRC + N_TGT - done_first

    # Same pairs as mining the same vectors given as precomputed embeddings.
    run_mining(corpus.config(tmp_path / "precomputed.tsv", max_memory=memory))
    assert (tmp_path / "pairs.tsv").read_bytes() == (tmp_path / "precomputed.tsv").read_bytes()


def test_resume_with_another_memory_budget(corpus, tmp_path: Path, monkeypatch) -> None:
    # Progress is kept as row ranges, so a resumed run may use other block sizes.
    small = small_block_memory(N_SRC, N_TGT, DIM)
    config = corpus.config(tmp_path / "pairs.tsv", max_memory=small)
    with monkeypatch.context() as patch:
        counting(patch, knn, "_search_block", fail_after=5)
        with pytest.raises(Interruption):
            run_mining(config)
    resumed = run_mining(corpus.config(tmp_path / "pairs.tsv", max_memory=small * 2))
    assert resumed["plan"]["query_rows"] != run_mining(config)["plan"]["query_rows"]
    run_mining(corpus.config(tmp_path / "reference.tsv", max_memory=small))
    assert (tmp_path / "pairs.tsv").read_bytes() == (tmp_path / "reference.tsv").read_bytes()


def test_stages_are_reused_or_redone_by_fingerprint(corpus, tmp_path: Path) -> None:
    first = run_mining(corpus.config(tmp_path / "pairs.tsv"))
    assert {stage["status"] for stage in first["stages"].values()} == {"computed"}

    other_mode = run_mining(corpus.config(tmp_path / "pairs.tsv", mode="intersect", threshold=1.0))
    statuses = {name: stage["status"] for name, stage in other_mode["stages"].items()}
    assert statuses == {
        "text": "reused",
        "embed": "reused",
        "knn": "reused",
        "score": "reused",
        "select": "computed",
        "write": "computed",
    }

    other_k = run_mining(corpus.config(tmp_path / "pairs.tsv", search=knn.SearchSettings(k=3)))
    assert other_k["stages"]["embed"]["status"] == "reused"
    assert other_k["stages"]["knn"]["status"] == "computed"

    # An edited input invalidates everything after it.
    np.save(corpus.tgt_npy, corpus.tgt[::-1].copy())
    changed = run_mining(corpus.config(tmp_path / "pairs.tsv", search=knn.SearchSettings(k=3)))
    assert changed["stages"]["text"]["status"] == "reused"
    assert changed["stages"]["embed"]["status"] == "computed"
    assert changed["stages"]["knn"]["status"] == "computed"


def test_stage_folder_of_another_version_is_refused(corpus, tmp_path: Path) -> None:
    run_mining(corpus.config(tmp_path / "pairs.tsv", mode="forward"))
    record_path = tmp_path / "pairs.tsv.work" / "embed" / "stage.json"
    record = json.loads(record_path.read_text())
    record["interlingua_version"] = "0.0.1"
    record_path.write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"embed: written by interlingua 0\.0\.1, .* not mixed"):
        run_mining(corpus.config(tmp_path / "pairs.tsv", mode="max"))
    assert json.loads(record_path.read_text()) == record  # neither deleted nor taken over
