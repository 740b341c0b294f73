"""BUCC 2018 zh-en mining F1 (sample split) with ``interlingua mine``, one encoder.

Runs the out-of-core pipeline on the BUCC files as they are (``ID<TAB>sentence``, ``--id-column``),
with LASER's settings (ratio margin, k = 4), for each candidate mode, then calibrates the threshold
on the gold pairs as LASER's BUCC evaluation does.  The threshold is tuned on the same sample it is
scored on (the test split is not available), so the F1 is optimistic, as in LASER's own tuning.
The embeddings and neighbours are computed once and reused by the four modes.  As a cross-check,
the in-memory path (``mine_in_memory``) is run on the stored embeddings and must give the same
scores bit for bit.

    nice -n 19 .venv/bin/python benchmarks/mining_bucc.py --model /tmp/me5-st --prefix "query: " \\
        --name me5-small

Writes runs/mining/bucc_<name>.json, and the pairs and histograms in runs/mining/bucc_<name>/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from interlingua import __version__
from interlingua.errors import DataError
from interlingua.mining.calibrate import calibrate_files
from interlingua.mining.margin import MODES, mine_in_memory
from interlingua.mining.pipeline import MiningConfig, run_mining
from interlingua.mining.plan import parse_memory

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="sentence-transformers model folder")
    parser.add_argument("--prefix", default="", help='prefix of every sentence (e5: "query: ")')
    parser.add_argument("--name", required=True, help="name of the result files")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(os.environ.get("INTERLINGUA_DATA", REPO.parent / "shared" / "data")),
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "runs" / "mining")
    parser.add_argument("--max-memory", default="2G")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()

    folder = args.data_root / "bucc2018_zh-en_sample"
    src, tgt, gold = (folder / f"zh-en.sample.{suffix}.xz" for suffix in ("zh", "en", "gold"))
    out = args.out_dir / f"bucc_{args.name}"
    out.mkdir(parents=True, exist_ok=True)
    began = time.time()
    per_mode = {}
    for mode in MODES:
        pairs = out / f"pairs.{mode}.tsv"
        summary = run_mining(
            MiningConfig(
                src=src,
                tgt=tgt,
                output=pairs,
                model=args.model,
                prefix=args.prefix,
                id_column=True,
                mode=mode,
                work_dir=out / "work",
                max_memory=parse_memory(args.max_memory),
                histogram=out / f"scores.{mode}.png",
                threads=args.threads,
                show_progress=True,
            )
        )
        try:
            calibration = calibrate_files(pairs, gold, histogram=out / f"calibration.{mode}.png").as_dict()
        except DataError as error:  # a model that finds no gold pair at all scores zero
            calibration = {
                "threshold": None,
                "precision": 0.0,
                "recall": 0.0,
                "f1": 0.0,
                "note": error.problem,
            }
        per_mode[mode] = {**calibration, "stages": summary["stages"], "counts": summary["counts"]}
        print(f"{mode}: {json.dumps(calibration)}", flush=True)

    # The in-memory path on the stored embeddings must give the pipeline's scores exactly.
    src_vectors = np.load(out / "work" / "embed" / "src.npy")
    tgt_vectors = np.load(out / "work" / "embed" / "tgt.npy")
    in_memory = np.array(
        [score for score, _, _ in mine_in_memory(src_vectors, tgt_vectors, mode="intersect")]
    )
    stored = np.load(out / "work" / "select" / "scores.npy")  # the last mode mined: intersect

    result = {
        "benchmark": "BUCC 2018 zh-en, sample split, interlingua mine (exact search, ratio margin, k=4)",
        "model": args.model,
        "prefix": args.prefix,
        "name": args.name,
        "per_mode": per_mode,
        "best_mode": max(per_mode, key=lambda mode: per_mode[mode]["f1"]),
        "in_memory_path_identical": bool(np.array_equal(in_memory.astype(np.float32), stored)),
        "wall_seconds": round(time.time() - began, 1),
        "data_sha256": {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in (src, tgt, gold)
        },
        "command": sys.argv,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared",
        "interlingua_version": __version__,
    }
    (args.out_dir / f"bucc_{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({mode: round(per_mode[mode]["f1"], 4) for mode in per_mode}))


if __name__ == "__main__":
    main()
