"""Exact mode against a brute-force numpy reference at 20k x 20k: same pairs, same scores.

The reference is independent of ``interlingua.mining``: the full similarity matrix in float64 (row
blocks of 2,000), a full sort of every row, LASER's margin and retrieval rules written out.  The
pipeline runs exactly as a user would run it (``interlingua mine`` on precomputed ``.npy`` files,
``--max-memory 256M`` so that the search crosses block boundaries).  Embeddings: 384-d random
vectors, 75% of the targets noisy copies of sources (planted pairs), the rest unrelated.

    nice -n 19 .venv/bin/python benchmarks/mining_exact.py

Writes runs/mining/exact.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from interlingua import __version__
from interlingua.cli.main import main as interlingua

REPO = Path(__file__).resolve().parents[1]
SIZE, DIM, K, ROW_BLOCK = 20_000, 384, 4, 2000
CASES = [
    ("ratio", "max"),
    ("ratio", "forward"),
    ("ratio", "backward"),
    ("ratio", "intersect"),
    ("distance", "max"),
]


def make_data(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    src = rng.standard_normal((SIZE, DIM), dtype=np.float32)
    tgt = rng.standard_normal((SIZE, DIM), dtype=np.float32)
    planted = SIZE * 3 // 4
    rows = rng.permutation(SIZE)[:planted]
    tgt[rng.permutation(SIZE)[:planted]] = src[rows] + 1.2 * rng.standard_normal(
        (planted, DIM), dtype=np.float32
    )
    np.save(folder / "src.npy", src)
    np.save(folder / "tgt.npy", tgt)
    (folder / "src.txt").write_text("".join(f"s{i}\n" for i in range(SIZE)))
    (folder / "tgt.txt").write_text("".join(f"t{i}\n" for i in range(SIZE)))
    return src, tgt


def reference_neighbours(queries: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by a full float64 sort of every row, in row blocks to bound memory."""
    ids = np.empty((len(queries), K), dtype=np.int64)
    sims = np.empty((len(queries), K))
    for start in range(0, len(queries), ROW_BLOCK):
        block = queries[start : start + ROW_BLOCK] @ keys.T
        order = np.argsort(-block, axis=1, kind="stable")[:, :K]
        ids[start : start + ROW_BLOCK] = order
        sims[start : start + ROW_BLOCK] = np.take_along_axis(block, order, axis=1)
    return sims, ids


def reference_mine(src, tgt, forward, backward, margin: str, mode: str) -> dict[tuple[int, int], float]:
    (fsims, fids), (bsims, bids) = forward, backward
    a, b = fsims.mean(axis=1), bsims.mean(axis=1)

    def scores(sims, own, other):
        average = (own[:, None] + other) / 2
        return {"ratio": sims / average, "distance": sims - average, "absolute": sims}[margin]

    fscores = scores(fsims, a, b[fids])
    bscores = scores(bsims, b, a[bids])
    fbest, fvalue = fids[np.arange(SIZE), fscores.argmax(1)], fscores.max(1)
    bbest, bvalue = bids[np.arange(SIZE), bscores.argmax(1)], bscores.max(1)
    if mode == "forward":
        return {(i, int(fbest[i])): fvalue[i] for i in range(SIZE)}
    if mode == "backward":
        return {(int(bbest[j]), j): bvalue[j] for j in range(SIZE)}
    if mode == "intersect":
        return {(i, int(fbest[i])): fvalue[i] for i in range(SIZE) if bbest[fbest[i]] == i}
    pooled = [(fvalue[i], i, int(fbest[i])) for i in range(SIZE)] + [
        (bvalue[j], int(bbest[j]), j) for j in range(SIZE)
    ]
    used_src, used_tgt, kept = set(), set(), {}
    for value, i, j in sorted(pooled, key=lambda p: -p[0]):
        if i not in used_src and j not in used_tgt:
            used_src.add(i)
            used_tgt.add(j)
            kept[(i, j)] = value
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "runs" / "mining")
    args = parser.parse_args()
    folder = args.out_dir / "exact"
    folder.mkdir(parents=True, exist_ok=True)
    src, tgt = make_data(folder)
    src64 = (src / np.linalg.norm(src, axis=1, keepdims=True)).astype(np.float64)
    tgt64 = (tgt / np.linalg.norm(tgt, axis=1, keepdims=True)).astype(np.float64)
    began = time.time()
    forward, backward = reference_neighbours(src64, tgt64), reference_neighbours(tgt64, src64)
    reference_seconds = time.time() - began

    cases = {}
    for margin, mode in CASES:
        output = folder / f"{margin}.{mode}.tsv"
        began = time.time()
        code = interlingua(
            [
                "mine", "--src", str(folder / "src.txt"), "--tgt", str(folder / "tgt.txt"),
                "--src-embeddings", str(folder / "src.npy"), "--tgt-embeddings", str(folder / "tgt.npy"),
                "--margin", margin, "--mode", mode, "--keep-duplicates", "--max-memory", "256M",
                "--output", str(output), "--work-dir", str(folder / "work"), "--quiet",
            ]
        )  # fmt: skip
        seconds = time.time() - began
        assert code == 0
        expected = reference_mine(src64, tgt64, forward, backward, margin, mode)
        mined = {}
        for line in output.read_text(encoding="utf-8").split("\n")[:-1]:
            score, _, _, i, j = line.split("\t")
            mined[(int(i) - 1, int(j) - 1)] = float(score)
        same_pairs = mined.keys() == expected.keys()
        common = sorted(mined.keys() & expected.keys())
        difference = max(abs(mined[p] - expected[p]) for p in common)
        cases[f"{margin}/{mode}"] = {
            "pairs": len(mined),
            "reference_pairs": len(expected),
            "same_pairs": same_pairs,
            "max_abs_score_difference": difference,
            "seconds_incl_reuse": round(seconds, 1),
        }
        print(margin, mode, json.dumps(cases[f"{margin}/{mode}"]), flush=True)
    summary = json.loads((folder / "ratio.max.tsv.json").read_text())
    result = {
        "benchmark": f"exact mining vs brute-force numpy reference, {SIZE:,} x {SIZE:,}, d={DIM}, k={K}",
        "cases": cases,
        "all_same_pairs": all(case["same_pairs"] for case in cases.values()),
        "first_run_stages": summary["stages"],
        "plan": summary["plan"],
        "reference_seconds": round(reference_seconds, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared",
        "interlingua_version": __version__,
    }
    (args.out_dir / "exact.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: result[key] for key in ("all_same_pairs", "reference_seconds")}))


if __name__ == "__main__":
    main()
