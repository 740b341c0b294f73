"""Mining at scale: 1M x 1M sentences on one machine, bounded memory, kill and resume.

Texts: the sides of the pooled training corpora (Tatoeba-Challenge, Bible, WMT newstest, TICO-19),
each side shuffled independently; pairs with an empty side are dropped, and the million is
completed with repeats of randomly drawn pairs.

Embeddings are SYNTHETIC: encoding two million sentences with a real model would take hours on
two cores.  Each source line gets a 384-d unit vector, normalise(topic centre + individual unit
vector), with 4096 random topic centres (sentences of one topic have cosine ~0.5, of different
topics ~0); 90% of the source lines have a "translation" on the target side, the line of their
true translation in the corpora, whose vector is normalise(source vector + 0.8 x random unit
vector) (cosine ~0.78); the other 10% of lines of each side get unrelated vectors.  These planted
pairs are the known pairs.  Recall and precision count a mined pair as right when its two
sentences equal those of a known pair (text equality, as Tatoeba scoring does), so repeated
sentences and de-duplication do not count as misses.

Steps, in this one command:
1. ``interlingua mine`` with an IVF-PQ index (IVF1024,PQ16, nprobe 8, 2x candidates re-scored
   exactly), float16 storage, ``--max-memory 2G``: wall time, peak RSS (the child's own rusage),
   recall and precision of the known pairs (all candidates, and at the F1-optimal threshold).
2. The same command again in a fresh work folder, killed with SIGKILL once 40% of the forward
   k-NN queries are done, then rerun: the output must equal run 1's byte for byte.
3. LASER-style all-in-RAM exact search (``mine_bitexts.py``'s ``knnCPU``: both matrices in
   float32 and a FAISS ``IndexFlatIP`` over one of them): peak RSS with the full data, search time
   measured on 2,000 queries and extrapolated to the 2M queries of both directions.

    nice -n 19 .venv/bin/python benchmarks/mining_scale.py

Writes runs/mining/scale.json (data and work files under runs/mining/scale/, about 12 GB).

With ``--real`` the embeddings are real: the same texts (every source line's translation known,
no planted subset) are encoded by ``--model``, any encoder folder (recorded with the project's
fastest, a static student of me5-small whose pieces were counted on the mined text itself:
``interlingua student --static --teacher ME5_ST --text src+tgt.txt``; an ONNX int8 export works
too), and mined with an IVF-PQ index under ``--max-memory 2G``:
1. in one process; 2. with ``--engine ray`` on 2 local workers (output compared byte for byte with
1.); 3. with ``--engine ray`` again, killed with SIGKILL at 40% of the forward k-NN and rerun
(output compared with 2.); 4. a 50k x 50k slice (the first 50k source lines and their
translations, shuffled) with the model and with ``--reference-model`` (me5-small) for quality,
each mined again from its stored embeddings with exact search and IVF-SQ8 (what the index loses),
and the share of its sources whose nearest target is their translation, per training corpus.
Each run reports encode time and sentences/s, k-NN time, the driver's peak RSS, the largest Ray
worker's, and recall and precision of the known pairs at the F1-optimal threshold.

    cat runs/mining/real/src.txt runs/mining/real/tgt.txt > /tmp/mined-text.txt  # after --step prepare-real
    interlingua student --static --teacher /tmp/me5-st --text /tmp/mined-text.txt --output /tmp/static
    .venv/bin/python benchmarks/mining_scale.py --real --model /tmp/static --reference-model /tmp/me5-st

Writes runs/mining/real.json (work files under runs/mining/real/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from interlingua import __version__
from interlingua.data.textio import read_lines
from interlingua.mining.calibrate import calibrate
from interlingua.mining.pipeline import peak_rss_bytes

REPO = Path(__file__).resolve().parents[1]
SIZE = 1_000_000
DIM = 384
TOPICS = 4096
PLANTED_SHARE = 0.9
NOISE = 0.8
CHUNK = 50_000
FLAT_QUERIES = 2000
SLICE = 50_000  # lines per side of the me5-small reference run
MINE_OPTIONS = [
    "--index", "IVF1024,PQ16", "--index-params", "nprobe=8", "--train-size", "65536",
    "--storage", "float16", "--max-memory", "2G",
]  # fmt: skip


def corpus_pairs(data_root: Path) -> list[tuple[str, str, str]]:
    """(corpus folder, non-English, English) of the four training corpora, both sides non-empty."""
    pairs: list[tuple[str, str, str]] = []
    for folder in ("train_tatoeba_challenge_eng", "train_wmt_newstest", "train_tico19"):
        for english in sorted((data_root / folder).glob("*-eng.eng.xz")):
            stem = english.name[: -len(".eng.xz")]
            other = english.with_name(f"{stem}.{stem.split('-')[0]}.xz")
            pairs.extend((folder, a, b) for a, b in zip(read_lines(other), read_lines(english), strict=True))
    bible = data_root / "train_bible_nt"
    english = read_lines(bible / "eng.txt.xz")
    for other in sorted(bible.glob("*.txt.xz")):
        if other.name not in ("eng.txt.xz", "verse_ids.txt.xz"):
            pairs.extend((bible.name, a, b) for a, b in zip(read_lines(other), english, strict=True))
    return [(c, a, b) for c, a, b in pairs if a.strip() and b.strip()]


def pooled_pairs(data_root: Path) -> list[tuple[str, str]]:
    """(non-English, English) sentence pairs of the four training corpora, both sides non-empty."""
    return [(a, b) for _, a, b in corpus_pairs(data_root)]


def write_sides(
    data_root: Path, folder: Path, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """``size`` pooled pairs (completed with repeats), each side shuffled, as src.txt and tgt.txt.

    Returns the target line of each source line's pair, the pair of each source line, and the
    number of distinct pairs available."""
    pairs = pooled_pairs(data_root)
    available = len(pairs)
    repeats = rng.integers(0, available, max(size - available, 0))
    chosen = np.concatenate([rng.permutation(available), repeats])[:size]
    src_order, tgt_order = rng.permutation(size), rng.permutation(size)  # line -> pair
    (folder / "src.txt").write_text("".join(pairs[chosen[p]][0] + "\n" for p in src_order), encoding="utf-8")
    (folder / "tgt.txt").write_text("".join(pairs[chosen[p]][1] + "\n" for p in tgt_order), encoding="utf-8")
    return np.argsort(tgt_order)[src_order], src_order, available


def unit_rows(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, DIM), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def prepare(data_root: Path, folder: Path) -> dict:
    """Texts, synthetic embeddings and known pairs, made once and reused by later runs."""
    record = folder / "data.json"
    if record.exists():
        return json.loads(record.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    translation, src_order, available = write_sides(data_root, folder, SIZE, rng)
    planted = rng.random(SIZE) < PLANTED_SHARE  # per pair
    known = np.where(planted[src_order], translation, -1)  # source line -> target line
    np.save(folder / "known.npy", known)

    centres = unit_rows(rng, TOPICS)
    src = np.lib.format.open_memmap(folder / "src.npy", mode="w+", dtype=np.float32, shape=(SIZE, DIM))
    tgt = np.lib.format.open_memmap(folder / "tgt.npy", mode="w+", dtype=np.float32, shape=(SIZE, DIM))
    for start in range(0, SIZE, CHUNK):
        rows = slice(start, start + CHUNK)
        for matrix in (src, tgt):
            vectors = centres[rng.integers(0, TOPICS, CHUNK)] + unit_rows(rng, CHUNK)
            matrix[rows] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    src.flush()
    sources = np.flatnonzero(known >= 0)
    for start in range(0, len(sources), CHUNK):
        lines = sources[start : start + CHUNK]
        vectors = src[lines] + NOISE * unit_rows(rng, len(lines))
        tgt[known[lines]] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    tgt.flush()
    del src, tgt
    info = {"pairs_available": available, "lines_per_side": SIZE, "known_pairs": int((known >= 0).sum())}
    record.write_text(json.dumps(info, indent=2) + "\n")
    return info


def mine_command(
    folder: Path, name: str, inputs: list[str] | None = None, options: list[str] = MINE_OPTIONS
) -> list[str]:
    """The mining command of run ``name``: the synthetic embeddings, or ``inputs`` (a model)."""
    embeddings = ["--src-embeddings", str(folder / "src.npy"), "--tgt-embeddings", str(folder / "tgt.npy")]
    return [
        sys.executable, "-m", "interlingua.cli.main", "mine",
        "--src", str(folder / "src.txt"), "--tgt", str(folder / "tgt.txt"), *(inputs or embeddings),
        "--output", str(folder / f"{name}.tsv"), "--work-dir", str(folder / f"{name}.work"),
        *options,
    ]  # fmt: skip


def prepare_real(data_root: Path, folder: Path, size: int) -> dict:
    """Texts of the real run, and a slice of them for the me5-small reference; every source line's
    translation is known (the line of its pair on the target side)."""
    record = folder / "data.json"
    if record.exists():
        return json.loads(record.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    known, _, available = write_sides(data_root, folder, size, rng)
    np.save(folder / "known.npy", known)
    rows = min(SLICE, size)
    order = rng.permutation(rows)  # slice target line -> source line of its translation
    # split("\n"), as in quality(): the corpora hold characters that splitlines() breaks on.
    src_lines = (folder / "src.txt").read_text(encoding="utf-8").split("\n")[:rows]
    tgt_lines = (folder / "tgt.txt").read_text(encoding="utf-8").split("\n")
    part = folder / "slice"
    part.mkdir(exist_ok=True)
    (part / "src.txt").write_text("".join(line + "\n" for line in src_lines), encoding="utf-8")
    (part / "tgt.txt").write_text("".join(tgt_lines[known[i]] + "\n" for i in order), encoding="utf-8")
    np.save(part / "known.npy", np.argsort(order))
    info = {"pairs_available": available, "lines_per_side": size, "slice_lines_per_side": rows}
    record.write_text(json.dumps(info, indent=2) + "\n")
    return info


def run_measured(command: list[str], log: Path, *, kill_when=None) -> dict:
    """Run a child; return its wall time, peak RSS and exit status (killed early if ``kill_when()``)."""
    began = time.time()
    with open(log, "a") as handle:
        child = subprocess.Popen(command, stdout=handle, stderr=handle)
        if kill_when is not None:
            while child.poll() is None and not kill_when():
                time.sleep(1)
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
        _, status, usage = os.wait4(child.pid, 0)
    return {
        "wall_seconds": round(time.time() - began, 1),
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "exit_status": os.waitstatus_to_exitcode(status),
    }


def forward_progress(work: Path) -> float:
    record = work / "knn" / "forward.progress.json"
    if not record.exists():
        return 0.0
    progress = json.loads(record.read_text())
    return sum(b - a for a, b in progress["done"]) / progress["total"]


def quality(folder: Path, name: str) -> dict:
    """Recall and precision of the known pairs, by text equality, and at the F1-optimal threshold."""
    known = np.load(folder / "known.npy")
    # split("\n"), not splitlines(): the corpora hold U+2028, U+0085 and other characters that
    # splitlines() also treats as line ends.
    src_lines = (folder / "src.txt").read_text(encoding="utf-8").split("\n")[:-1]
    tgt_lines = (folder / "tgt.txt").read_text(encoding="utf-8").split("\n")[:-1]
    known_texts = {(src_lines[i], tgt_lines[j]) for i, j in enumerate(known.tolist()) if j >= 0}
    scores, ids, hits = [], [], set()
    with open(folder / f"{name}.tsv", encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            scores.append(float(fields[0]))
            texts = (fields[1], fields[2])
            ids.append(texts)
            if texts in known_texts:
                hits.add(texts)
    calibration = calibrate(np.array(scores, dtype=np.float32), ids, known_texts)
    return {
        "known_text_pairs": len(known_texts),
        "written": len(scores),
        "recall_all_candidates": len(hits) / len(known_texts),
        "precision_all_candidates": len(hits) / len(scores),
        "at_f1_optimal_threshold": calibration.as_dict(),
    }


def model_run(
    folder: Path, name: str, inputs: list[str], options: list[str], log: Path, kill_at: float | None = None
) -> dict:
    """Mine with a model (encode + mine, in a fresh work folder); the measures of the real run.

    With ``kill_at`` the run is killed once that share of the forward k-NN is done, then run again.
    Peak memory: the driver's own (wait4) and the largest of the Ray workers' (the run summary).
    """
    shutil.rmtree(folder / f"{name}.work", ignore_errors=True)
    command = mine_command(folder, name, inputs, options)
    report = {"command": " ".join(command)}
    if kill_at is not None:
        work = folder / f"{name}.work"
        report["killed_run"] = run_measured(command, log, kill_when=lambda: forward_progress(work) >= kill_at)
        report["forward_knn_done_at_kill"] = round(forward_progress(work), 3)
    report["run"] = run_measured(command, log)
    summary = json.loads((folder / f"{name}.tsv.json").read_text())
    rows = summary["inputs"]["src_rows_mined"] + summary["inputs"]["tgt_rows_mined"]
    embed_seconds = summary["stages"]["embed"]["seconds"]
    report |= {
        "driver_peak_rss_bytes_own_report": summary["peak_rss_bytes"],
        "engine": summary["engine"],
        "stages": summary["stages"],
        "plan": summary["plan"],
        "encode_seconds": embed_seconds,
        "encode_sentences_per_second": round(rows / embed_seconds) if embed_seconds else None,
        "knn_seconds": summary["stages"]["knn"]["seconds"],
        "quality": quality(folder, name),
    }
    return report


# Other searches over the slice's stored embeddings: how much the IVF-PQ index loses on real ones.
SLICE_SEARCHES = {
    "exact": [],
    "ivf-sq8-nprobe8": ["--index", "IVF1024,SQ8", "--index-params", "nprobe=8"],
    "ivf-sq8-nprobe64": ["--index", "IVF1024,SQ8", "--index-params", "nprobe=64"],
}


def other_searches(part: Path, name: str, inputs: list[str], log: Path) -> dict:
    """Mine the slice again with each of SLICE_SEARCHES, from run ``name``'s text and embeddings."""
    results = {}
    for search, index in SLICE_SEARCHES.items():
        run = f"{name}-{search}"
        work = part / f"{run}.work"
        shutil.rmtree(work, ignore_errors=True)
        for stage in ("text", "embed"):  # reused as they are: only the k-NN and later stages run
            shutil.copytree(part / f"{name}.work" / stage, work / stage)
        command = mine_command(part, run, inputs, [*MINE_OPTIONS[4:], *index])
        measured = run_measured(command, log)
        summary = json.loads((part / f"{run}.tsv.json").read_text())
        results[search] = {
            "command": " ".join(command),
            "knn_seconds": summary["stages"]["knn"]["seconds"],
            "peak_rss_bytes": measured["peak_rss_bytes"],
            "quality": quality(part, run),
        }
    return results


def nearest_by_corpus(part: Path, name: str, data_root: Path) -> dict:
    """Share of slice sources whose nearest target line (exact cosine, no margin, no one-to-one
    rule) holds their translation's text: all, and per training corpus of the pair.  The nearest
    target is the first forward neighbour of the ``exact`` search that ``other_searches`` ran."""
    corpus_of: dict[tuple[str, str], str] = {}
    for corpus, other, english in corpus_pairs(data_root):
        corpus_of.setdefault((other, english), corpus)
    src_lines, tgt_lines = read_lines(part / "src.txt"), read_lines(part / "tgt.txt")
    known = np.load(part / "known.npy")
    work = part / f"{name}-exact.work"
    nearest = np.load(work / "knn" / "forward.ids.npy")[:, 0]  # source row -> target row
    src_line, tgt_line = (np.load(work / "text" / f"{side}.rows.npy") for side in ("src", "tgt"))
    hits: dict[str, list[bool]] = {}
    for row, line in enumerate(src_line.tolist()):
        translation = tgt_lines[known[line]]
        corpus = corpus_of.get((src_lines[line], translation), "unknown")
        hits.setdefault(corpus, []).append(tgt_lines[tgt_line[nearest[row]]] == translation)
    every = [hit for corpus_hits in hits.values() for hit in corpus_hits]
    return {
        "all": {"sources": len(every), "share": float(np.mean(every))},
        **{corpus: {"sources": len(h), "share": float(np.mean(h))} for corpus, h in sorted(hits.items())},
    }


def slice_runs(args: argparse.Namespace, folder: Path, model: list[str], options: list[str]) -> dict:
    """The model and the reference on the slice, with the benchmark's search and the others."""
    part = folder / "slice"
    log = folder / "mine.log"
    reference = ["--model", str(args.reference_model), "--prefix", args.reference_prefix]
    runs = {}
    for name, inputs in (("model", model), ("reference", reference)):
        runs[name] = model_run(part, name, inputs, options, log)
        runs[name]["other_searches"] = other_searches(part, name, inputs, log)
        runs[name]["nearest_target_is_translation"] = nearest_by_corpus(part, name, args.data_root)
    return runs


def main_real(args: argparse.Namespace) -> None:
    """1M x 1M real sentences encoded by ``--model`` (any encoder folder), mined in one process and
    on 2 local Ray workers, then on Ray killed and resumed; me5-small and the model on a slice."""
    folder = args.out_dir / "real"
    began = time.time()
    data = run_step("prepare-real", args)
    prepared = time.time() - began
    log = folder / "mine.log"
    model = ["--model", str(args.model), "--prefix", args.prefix]
    options = [*MINE_OPTIONS[2:], "--index", args.index]
    single = model_run(folder, "single", model, options, log)
    on_ray = model_run(folder, "ray", [*model, "--engine", "ray"], options, log)
    resumed = model_run(folder, "ray-resumed", [*model, "--engine", "ray"], options, log, kill_at=0.4)
    outputs = {name: (folder / f"{name}.tsv").read_bytes() for name in ("single", "ray", "ray-resumed")}
    result = {
        "benchmark": "1M x 1M mining of real pooled-corpus pairs, encoded by the model (see docstring)",
        "data": data,
        "prepare_seconds": round(prepared, 1),
        "single_process": single,
        "ray_2_workers": on_ray,
        "ray_killed_and_resumed": resumed,
        "ray_output_identical_to_single_process": outputs["ray"] == outputs["single"],
        "resumed_output_identical_to_uninterrupted": outputs["ray-resumed"] == outputs["ray"],
        "slice": slice_runs(args, folder, model, options),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared",
        "interlingua_version": __version__,
    }
    (args.out_dir / "real.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def flat_baseline(folder: Path) -> dict:
    """LASER's knnCPU: everything in RAM, float32, one flat index; run in its own process."""
    import faiss

    began = time.time()
    src = np.load(folder / "src.npy")
    tgt = np.load(folder / "tgt.npy")
    faiss.normalize_L2(src)
    faiss.normalize_L2(tgt)
    index = faiss.IndexFlatIP(DIM)
    index.add(tgt)
    loaded = time.time() - began
    queries = src[np.random.default_rng(1).choice(len(src), FLAT_QUERIES, replace=False)]
    began = time.time()
    index.search(queries, 4)
    per_query = (time.time() - began) / FLAT_QUERIES
    return {
        "load_and_index_seconds": round(loaded, 1),
        "seconds_per_query": per_query,
        "extrapolated_search_seconds_both_directions": round(per_query * (len(src) + len(tgt))),
        "peak_rss_bytes": peak_rss_bytes(),
    }


def run_step(step: str, args: argparse.Namespace) -> dict:
    """Run one step of this script in its own process and return the JSON it prints."""
    command = [sys.executable, __file__, "--step", step, "--out-dir", str(args.out_dir)]
    command += ["--size", str(args.size), "--data-root", str(args.data_root)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.strip().split("\n")[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(os.environ.get("INTERLINGUA_DATA", REPO.parent / "shared" / "data")),
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "runs" / "mining")
    # Heavy steps run in processes of their own so that this one stays small: Linux counts the
    # parent's peak memory at the time a child starts in the child's getrusage peak.
    parser.add_argument("--step", choices=("prepare", "prepare-real", "flat"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--real", action="store_true", help="encode real text with --model instead of synthetic vectors"
    )
    parser.add_argument("--model", type=Path, help="with --real: the encoder folder")
    parser.add_argument("--prefix", default="", help="with --real: the model's prefix")
    parser.add_argument("--reference-model", type=Path, help="with --real: me5-small, on the slice")
    parser.add_argument("--reference-prefix", default="query: ", help="with --real: its prefix")
    parser.add_argument("--size", type=int, default=SIZE, help="with --real: lines per side (default 1M)")
    parser.add_argument("--index", default="IVF1024,PQ16", help="with --real: the FAISS index")
    args = parser.parse_args()
    if args.step == "prepare-real":
        print(json.dumps(prepare_real(args.data_root, args.out_dir / "real", args.size)))
        return
    if args.real:
        if args.model is None or args.reference_model is None:
            parser.error("--real needs --model and --reference-model")
        main_real(args)
        return
    folder = args.out_dir / "scale"
    if args.step == "prepare":
        print(json.dumps(prepare(args.data_root, folder)))
        return
    if args.step == "flat":
        print(json.dumps(flat_baseline(folder)))
        return

    began = time.time()
    data = run_step("prepare", args)
    prepared = time.time() - began
    log = folder / "mine.log"
    for name in ("uninterrupted", "resumed"):  # timings are of fresh runs, not of reused stages
        shutil.rmtree(folder / f"{name}.work", ignore_errors=True)

    uninterrupted = run_measured(mine_command(folder, "uninterrupted"), log)
    summary = json.loads((folder / "uninterrupted.tsv.json").read_text())

    killed_work = folder / "resumed.work"
    killed = run_measured(
        mine_command(folder, "resumed"), log, kill_when=lambda: forward_progress(killed_work) >= 0.4
    )
    done_at_kill = forward_progress(killed_work)
    resumed = run_measured(mine_command(folder, "resumed"), log)
    resumed_summary = json.loads((folder / "resumed.tsv.json").read_text())
    identical = (folder / "resumed.tsv").read_bytes() == (folder / "uninterrupted.tsv").read_bytes()
    flat = run_step("flat", args)

    result = {
        "benchmark": "1M x 1M mining, synthetic 384-d embeddings, real pooled-corpus text (see docstring)",
        "data": data,
        "prepare_seconds": round(prepared, 1),
        "command": " ".join(mine_command(folder, "uninterrupted")),
        "uninterrupted": {
            **uninterrupted,
            "peak_rss_bytes_own_report": summary["peak_rss_bytes"],
            "stages": summary["stages"],
            "plan": summary["plan"],
        },
        "quality": quality(folder, "uninterrupted"),
        "kill_and_resume": {
            "killed_run": killed,
            "forward_knn_done_at_kill": round(done_at_kill, 3),
            "resumed_run": {
                **resumed,
                "peak_rss_bytes_own_report": resumed_summary["peak_rss_bytes"],
                "stages": resumed_summary["stages"],
            },
            "output_identical_to_uninterrupted": identical,
        },
        "laser_style_flat": flat,
        "memory_ratio_flat_over_interlingua": round(
            flat["peak_rss_bytes"] / uninterrupted["peak_rss_bytes"], 2
        ),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared",
        "interlingua_version": __version__,
    }
    (args.out_dir / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
