"""Small synthetic mining corpora: texts, raw embeddings and the planted translation pairs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interlingua.mining.embed import EmbeddingFile
from interlingua.mining.pipeline import MiningConfig
from interlingua.mining.plan import MIN_BLOCK_ROWS, RESIDENT_BYTES_PER_ROW, SCRATCH_BYTES


@dataclass
class Corpus:
    src_text: Path
    tgt_text: Path
    src_npy: Path
    tgt_npy: Path
    src: np.ndarray  # raw (not normalised) float32 embeddings
    tgt: np.ndarray
    planted: dict[int, int]  # source row -> target row of its translation

    @classmethod
    def of_files(cls, src_text: Path, tgt_text: Path, src_npy: Path, tgt_npy: Path) -> Corpus:
        """Files only: for tests that run the CLI on inputs they wrote themselves."""
        return cls(src_text, tgt_text, src_npy, tgt_npy, np.zeros((0, 0)), np.zeros((0, 0)), {})

    def config(self, output: Path, **overrides) -> MiningConfig:
        settings = {
            "src": self.src_text,
            "tgt": self.tgt_text,
            "output": output,
            "src_embeddings": EmbeddingFile(self.src_npy),
            "tgt_embeddings": EmbeddingFile(self.tgt_npy),
        }
        settings.update(overrides)
        return MiningConfig(**settings)


def make_corpus(
    folder: Path, n_src: int, n_tgt: int, dim: int, *, seed: int = 0, noise: float = 0.8
) -> Corpus:
    """Random sources; targets are noisy copies of a random subset of them plus unrelated vectors."""
    rng = np.random.default_rng(seed)
    src = rng.standard_normal((n_src, dim)).astype(np.float32)
    tgt = rng.standard_normal((n_tgt, dim)).astype(np.float32)
    n_planted = min(n_src, n_tgt) * 3 // 4
    src_rows = rng.choice(n_src, size=n_planted, replace=False)
    tgt_rows = rng.choice(n_tgt, size=n_planted, replace=False)
    tgt[tgt_rows] = src[src_rows] + noise * rng.standard_normal((n_planted, dim)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(
        src_text=folder / "src.txt",
        tgt_text=folder / "tgt.txt",
        src_npy=folder / "src.npy",
        tgt_npy=folder / "tgt.npy",
        src=src,
        tgt=tgt,
        planted=dict(zip(src_rows.tolist(), tgt_rows.tolist(), strict=True)),
    )
    corpus.src_text.write_text("".join(f"source sentence {i}\n" for i in range(n_src)), encoding="utf-8")
    corpus.tgt_text.write_text("".join(f"target sentence {j}\n" for j in range(n_tgt)), encoding="utf-8")
    np.save(corpus.src_npy, src)
    np.save(corpus.tgt_npy, tgt)
    return corpus


def small_block_memory(n_src: int, n_tgt: int, dim: int, k: int = 4, extra_rows: int = 0) -> int:
    """A --max-memory just above the minimum, so that the plan picks blocks of a few dozen rows."""
    per_query = dim * (4 + 12) + k * dim * 16 + k * 36
    per_key = dim * (4 + 4)
    rows = MIN_BLOCK_ROWS + extra_rows
    return RESIDENT_BYTES_PER_ROW * (n_src + n_tgt) + SCRATCH_BYTES + rows * (per_query + per_key)


def read_tsv(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").split("\n")[:-1]]
