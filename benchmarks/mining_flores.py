"""FLORES-200 devtest mining with both sides shuffled: recall of the true pairs, 10 languages.

For each language xx, the 1012 xx sentences and the 1012 English sentences are shuffled
independently (fixed seeds), so mining must find the alignment with no help from the order.
Pairs are mined with ``interlingua mine`` (ratio margin, k = 4, ``max`` mode, exact search) from
embeddings computed once per language (English once), given as precomputed ``.npy`` files.

Reported per language: recall of the 1012 true pairs among all candidates, and recall and
precision at the chosen threshold: by default the F1-optimal ``max``-mode threshold calibrated on
the BUCC sample (``benchmarks/mining_bucc.py``), i.e. a threshold chosen on other data.

    nice -n 19 .venv/bin/python benchmarks/mining_flores.py --model /tmp/me5-st --prefix "query: " \\
        --name me5-small --threshold-from runs/mining/bucc_me5-small.json

Writes runs/mining/flores_<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from interlingua import __version__
from interlingua.data.textio import read_lines
from interlingua.mining.embed import EmbeddingFile
from interlingua.mining.pipeline import MiningConfig, run_mining
from interlingua.models.encode import load_encoder

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = (
    "deu_Latn",
    "fra_Latn",
    "spa_Latn",
    "rus_Cyrl",
    "zho_Hans",
    "jpn_Jpan",
    "arb_Arab",
    "hin_Deva",
    "tur_Latn",
    "swh_Latn",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--name", required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--threshold", type=float)
    group.add_argument("--threshold-from", type=Path, help="BUCC result JSON: its max-mode threshold")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(os.environ.get("INTERLINGUA_DATA", REPO.parent / "shared" / "data")),
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "runs" / "mining")
    args = parser.parse_args()
    threshold = (
        args.threshold
        if args.threshold is not None
        else json.loads(args.threshold_from.read_text())["per_mode"]["max"]["threshold"]
    )

    out = args.out_dir / f"flores_{args.name}"
    out.mkdir(parents=True, exist_ok=True)
    flores = args.data_root / "flores200_devtest"
    encoder = load_encoder(args.model, prefix=args.prefix)
    began = time.time()

    english = read_lines(flores / "eng_Latn.devtest.xz")
    english_order = np.random.default_rng(0).permutation(len(english))
    (out / "eng.txt").write_text("".join(english[i] + "\n" for i in english_order), encoding="utf-8")
    np.save(out / "eng.npy", encoder.encode([english[i] for i in english_order], show_progress=True))

    per_language = {}
    for seed, language in enumerate(LANGUAGES, start=1):
        sentences = read_lines(flores / f"{language}.devtest.xz")
        order = np.random.default_rng(seed).permutation(len(sentences))
        (out / f"{language}.txt").write_text("".join(sentences[i] + "\n" for i in order), encoding="utf-8")
        np.save(out / f"{language}.npy", encoder.encode([sentences[i] for i in order], show_progress=True))
        pairs = out / f"{language}.pairs.tsv"
        run_mining(
            MiningConfig(
                src=out / f"{language}.txt",
                tgt=out / "eng.txt",
                output=pairs,
                src_embeddings=EmbeddingFile(out / f"{language}.npy"),
                tgt_embeddings=EmbeddingFile(out / "eng.npy"),
                mode="max",
                dedup=False,
            )
        )
        # Line l of the shuffled xx file is sentence order[l]; its translation is the English line
        # holding the same sentence number.
        english_line_of = np.argsort(english_order)
        rows = [line.split("\t") for line in pairs.read_text(encoding="utf-8").split("\n")[:-1]]
        scores = np.array([float(row[0]) for row in rows], dtype=np.float32)
        correct = np.array([english_line_of[order[int(row[3]) - 1]] == int(row[4]) - 1 for row in rows])
        kept = scores >= np.float32(threshold)
        per_language[language] = {
            "recall_all_candidates": float(correct.sum() / len(sentences)),
            "recall_at_threshold": float((correct & kept).sum() / len(sentences)),
            "precision_at_threshold": float((correct & kept).sum() / max(kept.sum(), 1)),
            "kept_at_threshold": int(kept.sum()),
            "candidates": len(rows),
        }
        print(language, json.dumps(per_language[language]), flush=True)

    def average(key: str) -> float:
        return float(np.mean([result[key] for result in per_language.values()]))

    result = {
        "benchmark": "FLORES-200 devtest, both sides shuffled, interlingua mine (max, ratio, k=4, exact)",
        "model": args.model,
        "prefix": args.prefix,
        "threshold": threshold,
        "threshold_source": str(args.threshold_from) if args.threshold_from else "given",
        "per_language": per_language,
        "average": {
            key: average(key)
            for key in ("recall_all_candidates", "recall_at_threshold", "precision_at_threshold")
        },
        "wall_seconds": round(time.time() - began, 1),
        "command": sys.argv,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared",
        "interlingua_version": __version__,
    }
    (args.out_dir / f"flores_{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["average"]))


if __name__ == "__main__":
    main()
