"""Training-step throughput of the translation-ranking recipe against this machine's matmul peak.

One command:  python benchmarks/training_step.py [--langs ...] [--hidden 512] [--steps 12]

Measures, in one run and on the same length-bucketed batches of real pairs: the median time of a
full training step (forward both sides, loss, backward, AdamW) in fp32 and with bf16 autocast,
pairs/s, tokens/s, and model FLOP/s as a fraction of the fp32 and bf16 peaks of a 2048 x 2048
matmul measured just before.  Model FLOPs per token: 6 x (parameters touched per token), i.e.
forward + backward of every dense layer plus the attention score and value products.
Prints a table and writes a JSON file (settings, versions, numbers).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from interlingua import __version__
from interlingua.data.corpora import load_training_corpora, resolve_data_root
from interlingua.data.sampling import length_bucketed_batches
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
from interlingua.models.tokenizer import balanced_sample, train_tokenizer


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def flops_per_token(config: EncoderConfig, length: float) -> float:
    """Forward + backward (x3) multiply-adds (x2) of one token through the encoder."""
    dense = 4 * config.hidden**2 + 2 * config.hidden * config.ffn  # QKV + output, FFN in and out
    attention = 2 * length * config.hidden  # scores and weighted values
    return 6 * config.layers * (dense + attention)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--langs", default="deu,fra,spa,ita,por,nld,epo,dan,swe,pol")
    parser.add_argument("--data-root")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=32000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=12, help="timed steps per precision (first 2 dropped)")
    parser.add_argument("--output", default="runs/benchmarks/training_step.json")
    args = parser.parse_args()

    corpora = load_training_corpora(resolve_data_root(args.data_root), args.langs.split(","))
    pairs = [(s, t) for corpus in corpora for s, t in zip(corpus.src, corpus.tgt, strict=True)]
    texts = {corpus.src_lang: corpus.src for corpus in corpora} | {"eng": [t for _, t in pairs]}
    tokenizer = train_tokenizer(balanced_sample(texts, 20000), vocab_size=args.vocab_size)
    config = EncoderConfig(layers=args.layers, hidden=args.hidden, heads=8, ffn=2 * args.hidden)
    model = build_scratch_encoder(tokenizer, config)
    loss = TranslationRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    lengths = np.array([max(len(s), len(t)) for s, t in pairs])
    rng = np.random.default_rng(0)
    batches = length_bucketed_batches(np.arange(len(pairs)), lengths, args.batch_size, 64, rng)[: args.steps]

    peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    rows = {}
    for precision in ("fp32", "bf16"):
        times, tokens, real_tokens = [], [], []
        for batch in batches:
            features = [model.preprocess([pairs[i][side] for i in batch]) for side in (0, 1)]
            for feature in features:
                feature.pop("modality", None)
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                value = loss(features)["translation_ranking"]
            value.backward()
            optimizer.step()
            optimizer.zero_grad()
            times.append(time.perf_counter() - start)
            tokens.append(sum(f["input_ids"].numel() for f in features))
            real_tokens.append(sum(int(f["attention_mask"].sum()) for f in features))
        step = statistics.median(times[2:])
        mean_tokens = statistics.mean(tokens)
        mean_length = mean_tokens / (2 * args.batch_size)
        model_flops = flops_per_token(config, mean_length) * mean_tokens / step
        rows[precision] = {
            "median_step_s": round(step, 4),
            "pairs_per_s": round(args.batch_size / step, 1),
            "tokens_per_s": round(mean_tokens / step),
            "padding_fraction": round(1 - sum(real_tokens) / sum(tokens), 3),
            "model_gflops": round(model_flops / 1e9, 1),
            "fraction_of_fp32_peak": round(model_flops / peaks["fp32"], 3),
            "fraction_of_own_peak": round(model_flops / peaks[precision], 3),
        }
    result = {
        "interlingua_version": __version__,
        "torch": torch.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "settings": vars(args),
        "matmul_peak_gflops": {k: round(v / 1e9, 1) for k, v in peaks.items()},
        "results": rows,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(
        f"matmul peak (2048^2): fp32 {result['matmul_peak_gflops']['fp32']} GFLOP/s, "
        f"bf16 {result['matmul_peak_gflops']['bf16']} GFLOP/s"
    )
    print(
        f"{'precision':10}{'step s':>9}{'pairs/s':>9}{'tokens/s':>10}{'pad':>6}{'GFLOP/s':>9}{'of peak':>9}"
    )
    for precision, row in rows.items():
        print(
            f"{precision:10}{row['median_step_s']:>9}{row['pairs_per_s']:>9}{row['tokens_per_s']:>10}"
            f"{row['padding_fraction']:>6}{row['model_gflops']:>9}{row['fraction_of_own_peak']:>9}"
        )


if __name__ == "__main__":
    main()
