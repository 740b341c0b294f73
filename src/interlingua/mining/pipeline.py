"""Out-of-core, resumable bitext mining: the stages, their order, and the run summary.

Stages, each persisted in its own folder of the work directory (``store.StageFolder``):

1. ``text``    copy both inputs with line offsets and hashes (``--unify``: one row per distinct sentence)
2. ``embed``   encode (or normalise precomputed vectors) in shards, float32 or float16 on disk
3. ``knn``     k nearest neighbours in both directions, block by block (exact, or a FAISS index)
4. ``score``   neighbourhood means and each sentence's best match by margin (ratio, distance, absolute)
5. ``select``  LASER's candidate retrieval: forward, backward, max or intersect
6. ``write``   threshold or top-N, de-duplication, the TSV; then the histogram and the JSON summary

A stage's folder is keyed by a fingerprint of its inputs and settings, so rerunning the same
command after an interruption resumes where it stopped (finished shards and blocks are not
redone), and changing only, say, the mode or the threshold reuses the embeddings and neighbours.
Block sizes come from ``plan.make_plan`` and ``--max-memory``.
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from interlingua import __version__
from interlingua.atomic import model_fingerprint
from interlingua.errors import ConfigError, DataError
from interlingua.mining import embed, knn, output, scoring
from interlingua.mining.histogram import plot_score_histogram
from interlingua.mining.margin import MARGINS, MODES, check_margin, check_mode, select_candidates
from interlingua.mining.plan import MiningPlan, check_index_training, make_plan
from interlingua.mining.store import (
    MatrixFile,
    RangeProgress,
    StageFolder,
    TextStore,
    atomic_write_json,
    file_identity,
)
from interlingua.provenance import package_versions, utc_now
from interlingua.validation import setting

STORAGE_DTYPES = {"float32": np.float32, "float16": np.float16}
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class MiningConfig:
    """Everything a mining run depends on.  Exactly one of ``model`` or both embedding files."""

    src: Path = setting(None, "source text, one sentence per line (.xz/.gz read as is)", group="inputs")
    tgt: Path = setting(None, "target text, one sentence per line", flags=("--tgt", "--trg"), group="inputs")
    output: Path = setting(None, "mined pairs (TSV; .gz/.xz compressed by suffix)", group="run")
    model: str | None = setting(
        None, "sentence-transformers model folder or name to encode with", group="inputs"
    )
    prefix: str = setting("", 'text prepended to every sentence (e5: "query: ")', group="inputs")
    batch_size: int = setting(64, "encoding batch size (default 64)", minimum=1, group="inputs")
    # Given on the command line as a path and a format (--src-embeddings, --dim, --raw-fp16).
    src_embeddings: embed.EmbeddingFile | None = setting(None, "precomputed source embeddings", option=False)
    tgt_embeddings: embed.EmbeddingFile | None = setting(None, "precomputed target embeddings", option=False)
    margin: str = setting("ratio", "margin function", choices=MARGINS, group="mining")
    mode: str = setting("max", ", ".join(MODES), flags=("--mode", "--retrieval"), group="mining")
    threshold: float | None = setting(None, "keep pairs scoring at least this (default: all)", group="mining")
    top_n: int | None = setting(None, "keep at most the N best pairs", minimum=1, group="mining")
    unify: bool = setting(
        False, "mine each distinct sentence once (LASER's --unify)", switch=True, group="mining"
    )
    dedup: bool = setting(True, "drop pairs whose two sentences repeat a better pair", option=False)
    id_column: bool = setting(False, "lines are ID<TAB>sentence (BUCC format)", switch=True, group="inputs")
    search: knn.SearchSettings = setting(knn.SearchSettings, "how neighbours are found", option=False)
    storage: str = setting("float32", "embeddings on disk", choices=tuple(STORAGE_DTYPES), group="run")
    max_memory: int = setting(
        2 * 1024**3, "memory budget for data, e.g. 4G, 512M", shown_default="2G", group="run"
    )
    work_dir: Path | None = setting(None, "stage files (default OUTPUT.work)", group="run")
    histogram: Path | None = setting(None, "save a PNG histogram of the candidates' scores", group="run")
    summary: Path | None = setting(None, "JSON run summary (default OUTPUT.json)", group="run")
    show_progress: bool = setting(
        False, "progress bars (the command line's --quiet turns them off)", option=False
    )
    threads: int | None = setting(
        None, "threads for FAISS and the encoder (default: all cores)", minimum=1, group="run"
    )
    # --engine and --ray-address are shared with ``interlingua encode`` (cli/mine.py).
    engine: str = setting("local", "local: this process; ray: Ray workers", option=False)
    ray_address: str | None = setting(None, "Ray cluster to join (HOST:PORT or auto)", option=False)

    def validate(self) -> None:
        check_margin(self.margin)
        check_mode(self.mode)
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.ray_address and self.engine != "ray":
            raise ConfigError("a Ray address is given, but the engine is not ray (add --engine ray)")
        has_embeddings = self.src_embeddings is not None or self.tgt_embeddings is not None
        if (self.model is None) == (not has_embeddings):
            raise ConfigError("give either a model or precomputed embeddings (source and target), not both")
        if has_embeddings and (self.src_embeddings is None or self.tgt_embeddings is None):
            raise ConfigError("precomputed embeddings are needed for both sides (source and target)")
        if self.search.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.search.k}")
        if self.search.refine_factor < 1:
            raise ConfigError(f"the refine factor must be at least 1, got {self.search.refine_factor}")
        if self.top_n is not None and self.top_n < 0:
            raise ConfigError(f"top-N must not be negative, got {self.top_n}")
        if self.storage not in STORAGE_DTYPES:
            raise ConfigError(f"storage type must be float32 or float16, got {self.storage!r}")
        if not self.output.parent.is_dir():
            raise ConfigError(f"{self.output.parent}: output folder does not exist")
        inputs = [self.src, self.tgt] + [e.path for e in (self.src_embeddings, self.tgt_embeddings) if e]
        for path in inputs:
            if not path.is_file():
                raise DataError(path, "file not found" if not path.exists() else "not a regular file")

    @property
    def work_folder(self) -> Path:
        return self.work_dir or self.output.with_name(self.output.name + ".work")

    @property
    def summary_path(self) -> Path:
        return self.summary or self.output.with_name(self.output.name + ".json")


class _StageClock:
    """Records, per stage, whether it was reused, resumed or computed, and how long it took."""

    def __init__(self) -> None:
        self.stages: dict[str, dict] = {}

    @contextmanager
    def stage(self, stage: StageFolder | str) -> Iterator[None]:
        if isinstance(stage, StageFolder):
            name = stage.name
            status = "reused" if stage.complete else "resumed" if stage.started else "computed"
        else:
            name, status = stage, "computed"
        began = time.perf_counter()
        yield
        self.stages[name] = {"status": status, "seconds": round(time.perf_counter() - began, 3)}


def run_mining(config: MiningConfig) -> dict:
    """Run (or resume) every stage of ``config`` and return the run summary (also saved as JSON)."""
    config.validate()
    with open_engine(config) as engine:
        return _mine(config, engine)


def open_engine(config: MiningConfig):
    """What runs the units of work of the heavy stages: this process, or Ray workers."""
    if config.engine == "ray":
        # Imported here: the default engine must work without Ray installed.
        from interlingua.mining.ray_engine import RayEngine

        return RayEngine(config.ray_address, threads=config.threads, max_memory=config.max_memory)
    return LocalEngine()


def _read_texts(config: MiningConfig, work: Path, clock: _StageClock) -> tuple[dict, TextStore, TextStore]:
    """The text stage (each side's lines stored once, resumable), its fingerprint and both sides."""
    text_print = {
        "src": file_identity(config.src),
        "tgt": file_identity(config.tgt),
        "id_column": config.id_column,
        "unify": config.unify,
    }
    text_stage = StageFolder(work, "text", text_print)
    with clock.stage(text_stage):
        if not text_stage.complete:
            text_stage.reset()
            for name, source in (("src", config.src), ("tgt", config.tgt)):
                TextStore.build(source, text_stage.path, name, id_column=config.id_column, unify=config.unify)
            text_stage.finish()
    src_texts = TextStore(text_stage.path, "src", id_column=config.id_column)
    return text_print, src_texts, TextStore(text_stage.path, "tgt", id_column=config.id_column)


def _mine(config: MiningConfig, engine) -> dict:
    if config.threads:
        _limit_threads(config.threads)
    began = time.perf_counter()
    clock = _StageClock()
    work = config.work_folder
    work.mkdir(parents=True, exist_ok=True)
    text_print, src_texts, tgt_texts = _read_texts(config, work, clock)
    src_lines, tgt_lines = src_texts.rows(), tgt_texts.rows()
    for path, lines in ((config.src, src_lines), (config.tgt, tgt_lines)):
        if not len(lines):
            raise DataError(path, "no non-blank line: nothing to mine")

    embed_print = {"text": text_print, "storage": config.storage, "source": embedding_source(config)}
    embed_stage = StageFolder(work, "embed", embed_print)
    encoder = None
    if config.model is None:
        dim = _check_embedding_files(config, src_texts.line_count, tgt_texts.line_count)
    elif embed_stage.started:
        dim = MatrixFile(embed_stage.path / "src.npy").shape[1]
    else:
        encoder = engine.load_encoder(config)
        dim = encoder.dimension
    plan = make_plan(
        src_rows=len(src_lines),
        tgt_rows=len(tgt_lines),
        dim=dim,
        k=config.search.k,
        max_memory=config.max_memory,
        storage_bytes=np.dtype(STORAGE_DTYPES[config.storage]).itemsize,
        encoding=config.model is not None,
        index=knn.index_footprint(config.search, dim, max(len(src_lines), len(tgt_lines))),
        refine_factor=config.search.refine_factor,
    )
    fewest_keys = min(len(src_lines), len(tgt_lines))
    check_index_training(config.search.index, dim, config.search.train_rows, fewest_keys)
    with clock.stage(embed_stage):
        if not embed_stage.complete:
            sides = (
                ("src", src_lines, src_texts, config.src_embeddings),
                ("tgt", tgt_lines, tgt_texts, config.tgt_embeddings),
            )
            fill_embeddings(config, embed_stage, sides, plan, encoder, dim, engine)

    knn_print = {"embed": embed_print, "search": asdict(config.search)}
    knn_stage = StageFolder(work, "knn", knn_print)
    with clock.stage(knn_stage):
        if not knn_stage.complete:
            _search(config, embed_stage.path, knn_stage, plan, engine)

    score_print = {"knn": knn_print, "margin": config.margin}
    score_stage = StageFolder(work, "score", score_print)
    with clock.stage(score_stage):
        if not score_stage.complete:
            _score(knn_stage.path, score_stage, config.margin, plan, engine)

    select_stage = StageFolder(work, "select", {"score": score_print, "mode": config.mode})
    with clock.stage(select_stage):
        if not select_stage.complete:
            _select(score_stage.path, select_stage, config.mode, engine)

    with clock.stage("write"):
        scores = np.load(select_stage.path / "scores.npy")
        selection = _write(config, select_stage.path, scores, src_texts, tgt_texts, src_lines, tgt_lines)
        if config.histogram:
            plot_score_histogram(scores, config.histogram, threshold=config.threshold)

    summary = _summary(
        config, plan, clock, selection, scores, src_texts, tgt_texts, src_lines, tgt_lines, dim
    )
    summary["engine"] = engine.describe()
    summary["wall_seconds"] = round(time.perf_counter() - began, 3)
    atomic_write_json(config.summary_path, summary)
    return summary


def fill_embeddings(
    config: MiningConfig, stage: StageFolder, sides: tuple, plan: MiningPlan, encoder, dim: int, engine
) -> None:
    """Fill each side's embedding matrix shard by shard, from the model or precomputed vectors."""
    if not stage.started:
        stage.reset()
        for name, lines, _, _ in sides:
            MatrixFile.create(stage.path / f"{name}.npy", len(lines), dim, STORAGE_DTYPES[config.storage])
        stage.begin()
    engine.embed(config, stage.path, sides, plan, encoder)
    stage.finish()


def _search(config: MiningConfig, embed_folder: Path, stage: StageFolder, plan: MiningPlan, engine) -> None:
    """k nearest neighbours of every source among the targets, and of every target among the sources."""
    if not stage.started:
        stage.reset()
        stage.begin()
    engine.search(config, embed_folder, stage.path, plan)
    stage.finish()


def search_directions(embed_folder: Path) -> tuple[tuple[str, MatrixFile, MatrixFile], ...]:
    """(name, queries, keys) of the two k-NN directions."""
    src_vectors, tgt_vectors = MatrixFile(embed_folder / "src.npy"), MatrixFile(embed_folder / "tgt.npy")
    return ("forward", src_vectors, tgt_vectors), ("backward", tgt_vectors, src_vectors)


def _write(
    config: MiningConfig,
    select_folder: Path,
    scores: np.ndarray,
    src_texts: TextStore,
    tgt_texts: TextStore,
    src_lines: np.ndarray,
    tgt_lines: np.ndarray,
) -> output.Selection:
    """Threshold or top-N, de-duplication, and the TSV (mined rows mapped back to input lines)."""
    src_chosen = src_lines[np.load(select_folder / "src.npy")]
    tgt_chosen = tgt_lines[np.load(select_folder / "tgt.npy")]
    keys = output.pair_keys(src_texts.hashes()[src_chosen], tgt_texts.hashes()[tgt_chosen])
    selection = output.filter_candidates(
        scores, keys, threshold=config.threshold, top_n=config.top_n, dedup=config.dedup
    )
    kept = selection.kept
    output.write_pairs(
        config.output,
        scores[kept],
        src_chosen[kept],
        tgt_chosen[kept],
        src_texts,
        tgt_texts,
        show_progress=config.show_progress,
    )
    return selection


def peak_rss_bytes() -> int:
    """This process's peak resident memory.

    Linux's ``getrusage`` maximum survives ``exec``: a process started by a large parent reports
    the parent's peak if it was higher.  ``VmHWM`` belongs to the process's own address space.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _limit_threads(threads: int) -> None:
    """Cap FAISS's OpenMP threads: on a machine shared with other jobs, fewer threads can be faster."""
    import faiss

    faiss.omp_set_num_threads(threads)


def _load_encoder(config: MiningConfig):
    from interlingua.models.encode import load_encoder

    encoder = load_encoder(config.model, prefix=config.prefix, batch_size=config.batch_size)
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    return encoder


def embedding_source(config: MiningConfig) -> dict:
    """What the embeddings are made from, for the fingerprint and the summary."""
    if config.model is not None:
        # The content, not the path: a folder whose files were replaced must be encoded again.
        return {
            "model": config.model,
            "model_sha256": model_fingerprint(config.model),
            "prefix": config.prefix,
            # Padding follows the batches: shards of another batch size may differ in the last bit.
            "batch_size": config.batch_size,
        }
    return {
        side: {"file": file_identity(vectors.path), "laser_dim": vectors.dim, "fp16": vectors.fp16}
        for side, vectors in (("src", config.src_embeddings), ("tgt", config.tgt_embeddings))
    }


def _check_embedding_files(config: MiningConfig, src_line_count: int, tgt_line_count: int) -> int:
    """The dimension of the precomputed embeddings, after checking them against the texts."""
    dims = []
    for vectors, text, line_count in (
        (config.src_embeddings, config.src, src_line_count),
        (config.tgt_embeddings, config.tgt, tgt_line_count),
    ):
        rows, dim = vectors.shape()
        if rows != line_count:
            raise DataError(vectors.path, f"{rows:,} embeddings, but {text} has {line_count:,} lines")
        dims.append(dim)
    if dims[0] != dims[1]:
        raise DataError(
            config.tgt_embeddings.path,
            f"embedding dimension {dims[1]} differs from the source embeddings' {dims[0]} "
            f"({config.src_embeddings.path})",
        )
    return dims[0]


def _score(knn_folder: Path, stage: StageFolder, margin: str, plan: MiningPlan, engine) -> None:
    stage.reset()
    engine.score(knn_folder, stage.path, margin, plan.query_rows)
    stage.finish()


def _select(score_folder: Path, stage: StageFolder, mode: str, engine) -> None:
    stage.reset()
    engine.select(score_folder, stage.path, mode)
    stage.finish()


def score_files(knn_folder: Path, score_folder: Path, margin: str, block_rows: int) -> None:
    """Each sentence's best match by margin, both directions, from the stored neighbours."""
    src_means = scoring.neighbourhood_means(knn_folder, "forward", block_rows)
    tgt_means = scoring.neighbourhood_means(knn_folder, "backward", block_rows)
    for name, own, other in (("forward", src_means, tgt_means), ("backward", tgt_means, src_means)):
        best, scores = scoring.best_matches(knn_folder, name, own, other, margin, block_rows)
        np.save(score_folder / f"{name}.best.npy", best)
        np.save(score_folder / f"{name}.scores.npy", scores)


def select_files(score_folder: Path, select_folder: Path, mode: str) -> None:
    """The candidate pairs of ``mode`` from the scored best matches of both directions."""
    scores, src, tgt = select_candidates(
        np.load(score_folder / "forward.best.npy"),
        np.load(score_folder / "forward.scores.npy"),
        np.load(score_folder / "backward.best.npy"),
        np.load(score_folder / "backward.scores.npy"),
        mode,
    )
    np.save(select_folder / "scores.npy", scores)
    np.save(select_folder / "src.npy", src)
    np.save(select_folder / "tgt.npy", tgt)


class LocalEngine:
    """The default engine: every unit of work in this process, one after another; needs no Ray."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def describe(self) -> dict:
        return {"name": "local"}

    def load_encoder(self, config: MiningConfig):
        return _load_encoder(config)

    def embed(self, config: MiningConfig, folder: Path, sides: tuple, plan: MiningPlan, encoder) -> None:
        for name, lines, texts, vectors in sides:
            progress = RangeProgress(folder / f"{name}.progress.json", len(lines))
            if progress.rows_done() < len(lines) and vectors is None and encoder is None:
                encoder = _load_encoder(config)
            embed.embed_rows(
                lines,
                embed.precomputed_vectors(vectors) if vectors else embed.encoded_vectors(encoder, texts),
                MatrixFile(folder / f"{name}.npy"),
                progress,
                plan.embed_rows,
                description=f"embed {name}",
                show_progress=config.show_progress,
            )

    def search(self, config: MiningConfig, embed_folder: Path, knn_folder: Path, plan: MiningPlan) -> None:
        for name, queries, keys in search_directions(embed_folder):
            knn.search(
                queries, keys, config.search, plan, knn_folder, name, show_progress=config.show_progress
            )

    def score(self, knn_folder: Path, score_folder: Path, margin: str, block_rows: int) -> None:
        score_files(knn_folder, score_folder, margin, block_rows)

    def select(self, score_folder: Path, select_folder: Path, mode: str) -> None:
        select_files(score_folder, select_folder, mode)


def _summary(
    config: MiningConfig,
    plan: MiningPlan,
    clock: _StageClock,
    selection: output.Selection,
    scores: np.ndarray,
    src_texts: TextStore,
    tgt_texts: TextStore,
    src_lines: np.ndarray,
    tgt_lines: np.ndarray,
    dim: int,
) -> dict:
    import faiss

    inputs = {
        "src": file_identity(config.src),
        "tgt": file_identity(config.tgt),
        "src_lines": src_texts.line_count,
        "tgt_lines": tgt_texts.line_count,
        "src_rows_mined": len(src_lines),
        "tgt_rows_mined": len(tgt_lines),
        "dimension": dim,
        "embeddings": embedding_source(config),
    }
    settings = {
        "margin": config.margin,
        "k": config.search.k,
        "mode": config.mode,
        "threshold": config.threshold,
        "top_n": config.top_n,
        "unify": config.unify,
        "dedup": config.dedup,
        "id_column": config.id_column,
        "search": asdict(config.search),
        "storage": config.storage,
        "max_memory": config.max_memory,
        "work_dir": str(config.work_folder),
    }
    quantiles = np.quantile(scores, [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]).tolist() if len(scores) else []
    return {
        "interlingua_version": __version__,
        "created_utc": utc_now(),
        "command": sys.argv,
        "inputs": inputs,
        "settings": settings,
        "plan": plan.as_dict(),
        "stages": clock.stages,
        "counts": selection.counts(),
        "score_quantiles": dict(
            zip(["min", "p25", "p50", "p75", "p90", "p99", "max"], quantiles, strict=True)
        ),
        "output": str(config.output),
        "histogram": str(config.histogram) if config.histogram else None,
        "peak_rss_bytes": peak_rss_bytes(),
        "versions": {
            **package_versions("faiss-cpu"),
            "faiss": faiss.__version__,
            "platform": platform.platform(),
        },
    }
