"""Students of multilingual-e5-small: how much quality a small, fast encoder keeps, and what it costs.

On the ablation's 10 languages (deu fra spa ita nld por rus pol tur ara), with me5-small as the
teacher (``../shared/tools/build_me5_small.py ME5``: the folder ``ME5-st`` is the teacher):

* starting points, untrained: the teacher; its vocabulary-pruned copy (all 12 layers); students of N
  layers (first N, and evenly spaced); the static student (the teacher's piece vectors);
* trained rows (``interlingua train``, CPU-time budgets on one thread each, so two rows can run side
  by side on two cores): N-layer students distilled (``distill``: centred distance to the teacher
  plus translation ranking), the static student trained with the same recipe at its own batch and
  rate, a from-scratch student distilled (does it still collapse?) and the scratch 2-layer TR model
  of the main job at the same budgets.

Columns: Tatoeba (both directions, %), FLORES-200 devtest xSIM error (%, xx -> eng), parameters,
weights file size, CPU-minutes of training (plus the teacher's encoding of the training set, paid
once and cached), and sentences/s encoding 2,000 Tatoeba sentences, every encoder measured side by
side in one run (PyTorch; ONNX int8 where it applies; the static student in numpy as well).

Usage (each stage writes JSON under --workdir and skips what is already there):
    B="python benchmarks/students.py --teacher ME5-st --workdir runs/students"
    $B prepare                                  # students + the teacher's embeddings (cached)
    $B train L4@15 & $B train L2@15 & $B train static@10 & $B train tr-scratch@10; wait  # 1 thread each
    $B train scratch-distill@6 & $B train static@20; wait
    $B score teacher pruned L4 L4-even L2 L2-even static L4@15 L2@15 static@10 static@20 tr-scratch@10
    $B speed teacher L4@15 L2@15 static@10 --threads 1   # PyTorch + ONNX int8 (+ numpy for static)
    $B table                                    # markdown table and the plot
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

LANGS = "deu,fra,spa,ita,nld,por,rus,pol,tur,ara"
STUDENTS: dict[str, dict[str, Any]] = {
    "pruned": {},
    "L2": {"layers": 2},
    "L2-even": {"layers": 2, "layer_choice": "even"},
    "L4": {"layers": 4},
    "L4-even": {"layers": 4, "layer_choice": "even"},
    "static": {"static": True},
}
# Every row trains on the same pairs: at most 6,000 per language (55k pairs; their 50k distinct
# English sentences are what the teacher encodes, once).
SHARED = {"max_pairs_per_language": 6000, "corpora": ["tatoeba_challenge"]}
STATIC_TRAINING = {"batch_size": 1024, "learning_rate": 0.05, "warmup": 0.02}
# row: (start, recipe, settings); the budget in CPU-minutes follows the @
ROWS: dict[str, tuple[str | None, str, dict[str, Any]]] = {
    "L2": ("L2", "distill", {}),
    "L4": ("L4", "distill", {}),
    "static": ("static", "distill", STATIC_TRAINING),
    "static-tr": ("static", "tr", {**STATIC_TRAINING, "max_length": 128}),
    "scratch-distill": (None, "distill", {"learning_rate": 1e-3, "batch_size": 128}),
    "tr-scratch": (None, "tr", {}),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def save(path: Path, payload: dict) -> None:
    from interlingua.atomic import write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, payload, indent=2)


def training_texts(args: argparse.Namespace) -> list[str]:
    """The English side of the rows' training pairs, as the trainer selects them."""
    from interlingua.training.config import build_config
    from interlingua.training.trainer import load_corpora

    config = build_config(recipe="distill", overrides={**SHARED, "langs": LANGS, "data_root": args.data_root})
    return [sentence for corpus in load_corpora(config) for sentence in corpus.tgt]


def prepare(args: argparse.Namespace) -> None:
    """The students and the teacher's embeddings of the training set (what every row reuses)."""
    from sentence_transformers import SentenceTransformer

    from interlingua.models.student import backend_tokenizer, count_student_pieces, make_student
    from interlingua.models.student_config import StudentConfig
    from interlingua.models.teacher_cache import rows_for, teacher_embeddings

    counted = None
    for name, settings in STUDENTS.items():
        folder = args.workdir / "students" / name
        if (folder / "interlingua_student.json").exists():
            continue
        started = time.process_time()
        config = StudentConfig(teacher=args.teacher, langs=LANGS.split(","), output=str(folder), **settings)
        if counted is None:  # one count for every student: same teacher, same text
            tokenizer = backend_tokenizer(SentenceTransformer(args.teacher, device="cpu"))
            counted = count_student_pieces(config, tokenizer)
        record = make_student(config, counted)
        log(f"student {name}: {record.pieces_kept} pieces, {time.process_time() - started:.0f} CPU-s")
    about = args.workdir / "teacher_cache.json"
    if not about.exists():
        distinct, _ = rows_for(training_texts(args))
        started = time.process_time()
        _, reused = teacher_embeddings(args.teacher, distinct, prefix="query: ", cache_root=args.cache)
        cpu = time.process_time() - started
        save(about, {"sentences": len(distinct), "cpu_seconds": round(cpu, 1), "reused": reused})
        log(f"teacher embeddings of {len(distinct)} sentences: {cpu / 60:.1f} CPU-min")


def parse_row(spec: str) -> tuple[str, int]:
    name, _, minutes = spec.partition("@")
    if name not in ROWS or not minutes.isdigit():
        raise SystemExit(f"unknown row {spec!r}: NAME@MINUTES with NAME one of {', '.join(ROWS)}")
    return name, int(minutes)


def train_row(args: argparse.Namespace, spec: str) -> None:
    from interlingua.training.config import build_config
    from interlingua.training.trainer import train

    name, minutes = parse_row(spec)
    start, recipe, settings = ROWS[name]
    output = args.workdir / "rows" / spec
    if (output / "row.json").exists():
        return
    overrides = {
        "langs": LANGS,
        "data_root": args.data_root,
        "output": str(output),
        "budget": f"{minutes}m",
        "budget_clock": "cpu",
        "threads": args.threads,
        "checkpoint_every": 1000,
        "teacher": args.teacher,
        "teacher_cache": args.cache,
        **SHARED,
        **settings,
    }
    if start is not None:
        overrides["pretrained"] = str(args.workdir / "students" / start)
    run, _ = train(build_config(recipe=recipe, overrides=overrides))
    teacher_seconds = 0.0
    if recipe == "distill":  # the teacher's encoding, paid once before the distillation rows
        teacher_seconds = json.loads((args.workdir / "teacher_cache.json").read_text())["cpu_seconds"]
    save(
        output / "row.json",
        {
            "row": spec,
            "recipe": recipe,
            "start": start or "scratch",
            "steps": run.steps,
            "pairs_seen": run.pairs_seen,
            "train_cpu_minutes": round(run.seconds / 60, 1),
            "teacher_cpu_minutes": round(teacher_seconds / 60, 1),
        },
    )


def model_path(args: argparse.Namespace, name: str) -> Path:
    if name == "teacher":
        return Path(args.teacher)
    if "@" in name:
        return args.workdir / "rows" / name
    return args.workdir / "students" / name


def parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def weights_mb(folder: Path) -> float:
    files = [f for f in folder.rglob("*.safetensors") if "checkpoints" not in f.relative_to(folder).parts]
    return round(sum(f.stat().st_size for f in files) / 1e6, 1)


def is_student(args: argparse.Namespace, name: str) -> bool:
    """A student or a row trained from one (its tokenizer is the teacher's, pruned)."""
    if "@" in name:
        return ROWS[parse_row(name)[0]][0] is not None
    return name != "teacher"


def unseen_rate(args: argparse.Namespace, model) -> float | None:
    """Share of FLORES sentences (the 10 languages) that need a piece the student does not keep."""
    from sentence_transformers import SentenceTransformer

    from interlingua.evaluation.flores import load_flores
    from interlingua.models.student import backend_tokenizer, unseen_piece_rate

    data = load_flores(args.data_root, LANGS)
    texts = [s for s in data.sentences()]
    teacher = backend_tokenizer(SentenceTransformer(args.teacher, device="cpu"))
    return round(100 * unseen_piece_rate(backend_tokenizer(model), teacher, texts), 2)


def score(args: argparse.Namespace, name: str) -> None:
    import torch

    from interlingua.evaluation.flores import evaluate_flores
    from interlingua.evaluation.tatoeba import evaluate_tatoeba
    from interlingua.models.encode import SentenceTransformerEncoder
    from interlingua.models.encoder import load_pretrained_encoder

    out = args.workdir / "scores" / f"{name}.json"
    if out.exists():
        return
    torch.set_num_threads(args.threads)
    path = model_path(args, name)
    model = load_pretrained_encoder(str(path))
    encoder = SentenceTransformerEncoder(model, name=name, batch_size=256)
    started = time.process_time()
    tatoeba = evaluate_tatoeba(encoder, args.data_root, LANGS)
    flores = evaluate_flores(encoder, args.data_root, LANGS)
    result = {
        "model": name,
        "tatoeba": round(tatoeba.average, 2),
        "tatoeba_per_language": {code: round(s.average, 1) for code, s in tatoeba.per_language.items()},
        "flores_xsim_error": round(flores.average, 2),
        "parameters": parameters(model),
        "weights_mb": weights_mb(path),
        "flores_unseen_piece_rate": unseen_rate(args, model) if is_student(args, name) else None,
        "score_cpu_seconds": round(time.process_time() - started, 1),
    }
    save(out, result)
    log(f"{name}: Tatoeba {result['tatoeba']}, FLORES xSIM {result['flores_xsim_error']}")


def encoders(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """PyTorch encoders of ``names`` and, where they apply, ONNX int8 exports (numpy for static)."""
    from sentence_transformers import SentenceTransformer

    from interlingua.models.encode import SentenceTransformerEncoder
    from interlingua.models.export import export_model, load_export
    from interlingua.models.runtime import load_runtime_encoder, runtime_kind

    built = {}
    for name in names:
        path = model_path(args, name)
        model = SentenceTransformer(str(path), device="cpu")
        built[f"{name} (pytorch)"] = SentenceTransformerEncoder(model, name=name, batch_size=128)
        if runtime_kind(path) == "static":
            built[f"{name} (numpy)"] = load_runtime_encoder(path)
            continue
        export = args.workdir / "exports" / f"{name}-int8"
        if not export.exists():
            export_model(path, export, int8=True)
        built[f"{name} (onnx int8)"] = load_export(export, batch_size=128, threads=args.threads)
    return built


def speed(args: argparse.Namespace, names: list[str]) -> None:
    """Sentences/s of every encoder on the same 2,000 sentences, repeats interleaved, medians."""
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from encode_speed import sample_sentences

    torch.set_num_threads(args.threads)
    sentences, _ = sample_sentences(args.data_root, LANGS, 2000)
    built = encoders(args, names)
    for encoder in built.values():
        encoder.encode(sentences[:16])
    seconds: dict[str, list[float]] = {name: [] for name in built}
    for repeat in range(args.repeats):
        for name, encoder in built.items():
            started = time.perf_counter()
            encoder.encode(sentences)
            seconds[name].append(time.perf_counter() - started)
        log(f"speed repeat {repeat + 1}/{args.repeats}")
    result = {name: round(len(sentences) / statistics.median(times), 1) for name, times in seconds.items()}
    save(
        args.workdir / "speed.json",
        {
            "threads": args.threads,
            "sentences": 2000,
            "sentences_per_second": result,
            "cpu": cpu_model(),
            "repeats": args.repeats,
        },
    )
    log(json.dumps(result))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def collect(args: argparse.Namespace) -> list[dict]:
    speeds = (
        json.loads((args.workdir / "speed.json").read_text())["sentences_per_second"]
        if (args.workdir / "speed.json").exists()
        else {}
    )
    rows = []
    for path in sorted((args.workdir / "scores").glob("*.json")):
        row = json.loads(path.read_text())
        trained = args.workdir / "rows" / row["model"] / "row.json"
        row.update(json.loads(trained.read_text()) if trained.exists() else {})
        for runtime in ("pytorch", "onnx int8", "numpy"):
            row[runtime] = speeds.get(f"{row['model']} ({runtime})")
        rows.append(row)
    return rows


def table(args: argparse.Namespace) -> None:
    rows = collect(args)
    teacher = next((r for r in rows if r["model"] == "teacher"), None)
    base = teacher["pytorch"] if teacher and teacher.get("pytorch") else None
    base_onnx = teacher.get("onnx int8") if teacher else None
    lines = [
        "| model | Tatoeba | FLORES xSIM err | params (M) | weights MB | train CPU-min (+ teacher) | "
        "sent/s PyTorch | x teacher | sent/s ONNX int8 / numpy | x teacher ONNX |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fast = r.get("onnx int8") or r.get("numpy")
        cells = [
            r["model"],
            f"{r['tatoeba']:.1f}",
            f"{r['flores_xsim_error']:.1f}",
            f"{r['parameters'] / 1e6:.1f}",
            f"{r['weights_mb']:.0f}",
            f"{r['train_cpu_minutes']} (+{r['teacher_cpu_minutes']})" if "train_cpu_minutes" in r else "-",
            f"{r['pytorch']:.0f}" if r.get("pytorch") else "-",
            f"{r['pytorch'] / base:.1f}" if base and r.get("pytorch") else "-",
            f"{fast:.0f}" if fast else "-",
            f"{fast / base_onnx:.1f}" if base_onnx and fast else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    plot(args, rows)


def plot(args: argparse.Namespace, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        speed_ = r.get("onnx int8") or r.get("numpy") or r.get("pytorch")
        if speed_:
            axes.scatter(speed_, r["tatoeba"])
            axes.annotate(
                r["model"], (speed_, r["tatoeba"]), fontsize=8, xytext=(4, 2), textcoords="offset points"
            )
    axes.set_xscale("log")
    threads = json.loads((args.workdir / "speed.json").read_text())["threads"]
    axes.set_xlabel(f"sentences/s, {threads} thread(s), fastest runtime of each model (log scale)")
    axes.set_ylabel("Tatoeba accuracy, 10 languages (%)")
    axes.set_title("Students of multilingual-e5-small: quality against speed")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(args.plot, dpi=120)
    log(f"plot: {args.plot}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=["prepare", "train", "score", "speed", "table"])
    parser.add_argument("names", nargs="*", help="rows (train) or models (score, speed)")
    parser.add_argument("--teacher", required=True, help="the teacher (the -st folder of build_me5_small.py)")
    parser.add_argument("--data-root", default=os.environ.get("INTERLINGUA_DATA"))
    parser.add_argument("--workdir", type=Path, default=Path("runs/students"))
    parser.add_argument("--cache", default=None, help="teacher cache (default: WORKDIR/teacher-cache)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plot", default="docs/students.png")
    args = parser.parse_args()
    args.cache = args.cache or str(args.workdir / "teacher-cache")
    if args.stage == "prepare":
        prepare(args)
    elif args.stage == "train":
        for spec in args.names:
            train_row(args, spec)
    elif args.stage == "score":
        for name in args.names:
            score(args, name)
    elif args.stage == "speed":
        speed(args, args.names)
    else:
        table(args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log(f"{args.stage} done; peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
