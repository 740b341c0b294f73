"""--max-memory: sizes are parsed, block sizes follow the budget, budgets too small are refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from interlingua.errors import ConfigError
from interlingua.mining import knn
from interlingua.mining.pipeline import run_mining
from interlingua.mining.plan import (
    MAX_ENCODE_ROWS,
    MIN_BLOCK_ROWS,
    IndexFootprint,
    format_bytes,
    make_plan,
    parse_memory,
)

GIB = 1024**3
MILLION = 1_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4G", 4 * GIB), ("512M", 512 * 1024**2), ("1.5GiB", int(1.5 * GIB)), ("2gb", 2 * GIB), ("1000", 1000)],
)
def test_parse_memory(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "four gigs", "4X", "-1G"])
def test_parse_memory_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="cannot read memory size"):
        parse_memory(text)


def test_blocks_grow_with_the_budget_and_the_estimate_stays_within_it() -> None:
    plans = [
        make_plan(src_rows=MILLION, tgt_rows=MILLION, dim=384, k=4, max_memory=budget * GIB)
        for budget in (1, 2, 4)
    ]
    for plan in plans:
        assert plan.estimated_peak_bytes <= plan.max_memory
        assert plan.resident_bytes < plan.max_memory / 4
    assert plans[0].query_rows < plans[1].query_rows < plans[2].query_rows
    assert plans[0].key_rows < plans[1].key_rows < plans[2].key_rows
    # 1 GiB for 1M x 1M at d=384: the blocks get what the per-sentence arrays leave.
    assert plans[0].query_rows > 1000


def test_resident_memory_grows_with_the_corpus_not_the_blocks() -> None:
    small = make_plan(src_rows=10_000, tgt_rows=10_000, dim=256, k=4, max_memory=GIB)
    large = make_plan(src_rows=4 * MILLION, tgt_rows=4 * MILLION, dim=256, k=4, max_memory=GIB)
    assert large.resident_bytes == 400 * small.resident_bytes
    assert large.estimated_peak_bytes <= GIB
    assert large.query_rows < small.query_rows or small.query_rows == 10_000


def test_budget_too_small_is_refused_with_the_minimum() -> None:
    with pytest.raises(ConfigError, match=r"too small for 20,000,000 x 20,000,000 .* at least [\d.]+ GiB"):
        make_plan(src_rows=20 * MILLION, tgt_rows=20 * MILLION, dim=1024, k=4, max_memory=2 * GIB)


def test_index_memory_is_reserved_and_checked() -> None:
    ivfpq = IndexFootprint(bytes_per_vector=32 + 8, fixed_bytes=4096 * 384 * 4, train_rows=131072)
    exact = make_plan(src_rows=MILLION, tgt_rows=MILLION, dim=384, k=4, max_memory=2 * GIB)
    with_index = make_plan(
        src_rows=MILLION, tgt_rows=MILLION, dim=384, k=4, max_memory=2 * GIB, index=ivfpq, refine_factor=2
    )
    assert with_index.index_bytes == 40 * MILLION + 4096 * 384 * 4
    assert with_index.estimated_peak_bytes <= 2 * GIB
    assert exact.index_bytes == 0
    flat = IndexFootprint(bytes_per_vector=384 * 4, fixed_bytes=0, train_rows=0)
    with pytest.raises(ConfigError, match="most of it for the FAISS index"):
        make_plan(src_rows=MILLION, tgt_rows=MILLION, dim=384, k=4, max_memory=GIB, index=flat)
    huge_sample = IndexFootprint(bytes_per_vector=40, fixed_bytes=0, train_rows=10 * MILLION)
    with pytest.raises(ConfigError, match="lower --train-size"):
        make_plan(src_rows=MILLION, tgt_rows=MILLION, dim=384, k=4, max_memory=GIB, index=huge_sample)


def test_index_footprint_reads_the_factory_string() -> None:
    footprint = knn.index_footprint(knn.SearchSettings(index="IVF256,PQ16"), 64, 100_000)
    # 16-byte codes + 64-bit ids per vector; 256 centroids; a 16 x 256 float table per vector added
    assert footprint == IndexFootprint(
        bytes_per_vector=16 + 8,
        fixed_bytes=256 * 64 * 4,
        train_rows=100_000,
        add_bytes_per_vector=16 * 256 * 4,
    )
    flat_codes = knn.index_footprint(knn.SearchSettings(index="IVF256,SQ8"), 64, 100_000)
    assert flat_codes.bytes_per_vector == 64 + 8 and flat_codes.add_bytes_per_vector == 0
    assert knn.index_footprint(knn.SearchSettings(), 64, 100_000) is None
    with pytest.raises(ConfigError, match="--index 'IVF,Nonsense': FAISS cannot build it"):
        knn.index_footprint(knn.SearchSettings(index="IVF,Nonsense"), 64, 100)


def test_encoding_shards_are_small_to_lose_little_work() -> None:
    plan = make_plan(src_rows=MILLION, tgt_rows=MILLION, dim=384, k=4, max_memory=4 * GIB, encoding=True)
    assert MIN_BLOCK_ROWS <= plan.embed_rows <= MAX_ENCODE_ROWS


def test_pipeline_uses_the_planned_block_sizes(corpus, tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    original = knn._search_block

    def recording(block, *args):
        calls.append(len(block))
        return original(block, *args)

    monkeypatch.setattr(knn, "_search_block", recording)
    budget = 64 * 1024**2 + 300_000
    summary = run_mining(corpus.config(tmp_path / "pairs.tsv", max_memory=budget))
    plan = summary["plan"]
    assert plan["max_memory"] == budget
    assert max(calls) == plan["query_rows"] < 600
    assert len(calls) == math.ceil(600 / plan["query_rows"]) + math.ceil(500 / plan["query_rows"])


def test_format_bytes() -> None:
    assert format_bytes(3 * 1024**2) == "3 MiB"
    assert format_bytes(int(2.5 * GIB)) == "2.50 GiB"
