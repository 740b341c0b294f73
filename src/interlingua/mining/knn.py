"""k-nearest-neighbour search between two on-disk embedding matrices, block by block, resumable.

Two searchers produce candidates for a block of queries:

- exact (the default): the keys are streamed in blocks and each block is searched with FAISS's
  brute-force ``knn`` (BLAS inner products and a heap), the per-block top-k merged; memory is one
  query block plus one key block, whatever the corpus size.
- a FAISS index from any factory string (``IVF4096,PQ32``, ``IVF1024,SQ8``, ``HNSW32`` ...),
  trained on a random sample of the keys, filled block by block and saved, so that a resumed run
  does not train it again.  It returns ``k * refine_factor`` candidates per query.

Either way the candidates are then re-scored exactly from the stored embeddings
(``margin.exact_cosines``): compressed codes only rank candidates, every similarity that enters a
margin is a true cosine, and exact search gives the same numbers as the in-memory path.

Results go to ``<name>.sims.npy`` (float32) and ``<name>.ids.npy`` (int64), shape (queries, k),
rows sorted by descending similarity; a missing neighbour (an index returning fewer than k) has
id -1 and similarity -inf.  Finished query ranges are recorded after each block.
"""

from __future__ import annotations

import os

# FAISS parallelises with OpenMP, whose idle threads spin by default.  On a machine whose cores are
# busy with other work, spinning threads steal the time of the working ones: a small k-NN call took
# 18 ms instead of 0.1 ms on a loaded 2-core machine.  Passive waiting only adds a wake-up per
# parallel region.  Must be set before FAISS (and its OpenMP runtime) is loaded; a user's own
# setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from interlingua.atomic import write_with
from interlingua.errors import ConfigError
from interlingua.mining.margin import exact_cosines, sort_neighbours
from interlingua.mining.plan import IndexFootprint, MiningPlan
from interlingua.mining.store import MatrixFile, RangeProgress
from interlingua.validation import setting


@dataclass(frozen=True)
class SearchSettings:
    """How neighbours are found: ``index`` None means exact blockwise search."""

    k: int = setting(
        4, "neighbours (default 4)", minimum=1, flags=("-k", "--k", "--neighborhood"), group="search"
    )
    index: str | None = setting(
        None,
        'FAISS index factory string, e.g. "IVF1024,SQ8" (default: exact blockwise search; PQ codes '
        "lose many true pairs of real sentence embeddings, docs/benchmarks.md)",
        group="search",
    )
    index_params: str = setting("", 'FAISS search parameters, e.g. "nprobe=16"', group="search")
    train_rows: int = setting(
        131072, "index training sample", minimum=1, flags=("--train-size",), group="search"
    )
    refine_factor: int = setting(
        2, "an index returns k x this candidates, re-scored exactly", minimum=1, group="search"
    )
    seed: int = setting(0, "seed of the training sample", minimum=0, group="search")

    @property
    def candidates(self) -> int:
        return self.k * (self.refine_factor if self.index else 1)


def index_footprint(settings: SearchSettings, dim: int, key_rows: int) -> IndexFootprint | None:
    """Estimated memory of the FAISS index of ``settings`` over ``key_rows`` vectors (None: exact).

    An unknown factory string is reported as a configuration error here, before any work.
    """
    if not settings.index:
        return None
    import faiss

    try:
        index = faiss.index_factory(dim, settings.index, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as error:
        raise ConfigError(
            f"--index {settings.index!r}: FAISS cannot build it: {_faiss_reason(error)}"
        ) from None
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        # Inverted lists store each vector's code and its 64-bit id; the coarse centroids are fixed.
        per_vector, fixed = ivf.code_size + 8, ivf.nlist * dim * 4
    else:
        try:
            per_vector, fixed = index.sa_code_size(), 0
        except RuntimeError:
            per_vector, fixed = dim * 4, 0
    train_rows = min(settings.train_rows, key_rows) if not index.is_trained else 0
    quantizer = getattr(faiss.downcast_index(ivf if ivf is not None else index), "pq", None)
    table = quantizer.M * quantizer.ksub * 4 if quantizer is not None else 0
    return IndexFootprint(
        bytes_per_vector=int(per_vector),
        fixed_bytes=int(fixed),
        train_rows=train_rows,
        add_bytes_per_vector=table,
    )


def search(
    queries: MatrixFile,
    keys: MatrixFile,
    settings: SearchSettings,
    plan: MiningPlan,
    folder: Path,
    name: str,
    *,
    show_progress: bool = False,
) -> None:
    """Fill ``folder/<name>.sims.npy`` and ``<name>.ids.npy`` with each query's k nearest keys.

    Resumes from ``folder/<name>.progress.json``: query ranges already finished are skipped.
    """
    progress, k = prepare(queries, keys, settings, folder, name)
    if progress.rows_done() == progress.total:
        return
    index = load_or_build_index(keys, settings, plan, folder, name, show_progress) if settings.index else None
    with tqdm(
        total=progress.total,
        initial=progress.rows_done(),
        desc=f"k-NN {name}",
        unit="query",
        disable=not show_progress,
        dynamic_ncols=True,
    ) as bar:
        for start, stop in progress.pending(plan.query_rows):
            sims, ids = search_rows(queries, keys, index, settings, plan, k, start, stop)
            store_rows(folder, name, start, sims, ids)
            progress.mark(start, stop)
            bar.update(stop - start)


def prepare(
    queries: MatrixFile, keys: MatrixFile, settings: SearchSettings, folder: Path, name: str
) -> tuple[RangeProgress, int]:
    """Create direction ``name``'s result files if they are missing; its progress and its k."""
    n_queries, _ = queries.shape
    k = min(settings.k, keys.shape[0])
    sims_file = folder / f"{name}.sims.npy"
    if not sims_file.exists():
        MatrixFile.create(folder / f"{name}.ids.npy", n_queries, k, np.int64)
        MatrixFile.create(sims_file, n_queries, k, np.float32)
    return RangeProgress(folder / f"{name}.progress.json", n_queries), k


def search_rows(
    queries: MatrixFile,
    keys: MatrixFile,
    index,
    settings: SearchSettings,
    plan: MiningPlan,
    k: int,
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Similarities and ids of the k nearest keys of queries ``start:stop``: the unit of work of
    both engines (a Ray worker runs exactly this on its block)."""
    return _search_block(queries.read(start, stop), keys, index, settings, plan, k)


def store_rows(folder: Path, name: str, start: int, sims: np.ndarray, ids: np.ndarray) -> None:
    """Write one block's results into direction ``name``'s result files, from row ``start``."""
    MatrixFile(folder / f"{name}.sims.npy").write(start, sims)
    MatrixFile(folder / f"{name}.ids.npy").write(start, ids)


def _search_block(
    block: np.ndarray, keys: MatrixFile, index, settings: SearchSettings, plan: MiningPlan, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest keys of one query block, with exact similarities."""
    if k == 0:
        return np.empty((len(block), 0), np.float32), np.empty((len(block), 0), np.int64)
    if index is None:
        candidates = _exact_candidates(block, keys, k, plan.key_rows)
    else:
        _, candidates = index.search(block, min(settings.candidates, keys.shape[0]))
    missing = candidates < 0
    rows = keys.gather(np.where(missing, 0, candidates))
    sims = exact_cosines(block, rows)
    sims[missing] = -np.inf
    sims, ids = sort_neighbours(sims, np.where(missing, -1, candidates))
    return np.ascontiguousarray(sims[:, :k]), np.ascontiguousarray(ids[:, :k])


def _exact_candidates(block: np.ndarray, keys: MatrixFile, k: int, key_rows: int) -> np.ndarray:
    """Ids of the k most similar keys, streaming the keys ``key_rows`` at a time."""
    import faiss

    best_sims = np.empty((len(block), 0), dtype=np.float32)
    best_ids = np.empty((len(block), 0), dtype=np.int64)
    n_keys = keys.shape[0]
    for start in range(0, n_keys, key_rows):
        key_block = keys.read(start, min(start + key_rows, n_keys))
        sims, ids = faiss.knn(block, key_block, min(k, len(key_block)), metric=faiss.METRIC_INNER_PRODUCT)
        merged_sims = np.concatenate([best_sims, sims], axis=1)
        merged_ids = np.concatenate([best_ids, ids + start], axis=1)
        merged_sims, merged_ids = sort_neighbours(merged_sims, merged_ids)
        best_sims, best_ids = merged_sims[:, :k], merged_ids[:, :k]
    return best_ids


def load_or_build_index(
    keys: MatrixFile, settings: SearchSettings, plan: MiningPlan, folder: Path, name: str, show_progress: bool
):
    """The FAISS index over ``keys``: read from ``folder`` if a previous run saved it, else built."""
    import faiss

    path = folder / f"{name}.index"
    if path.exists():
        index = faiss.read_index(str(path))
    else:
        n_keys, dim = keys.shape
        index = faiss.index_factory(dim, settings.index, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None and hasattr(faiss.downcast_index(ivf), "do_polysemous_training"):
            # Polysemous codes only serve Hamming pre-filtering, which is not used here, and their
            # training (simulated annealing) is slower than the rest of the training together.
            faiss.downcast_index(ivf).do_polysemous_training = False
        if not index.is_trained:
            rng = np.random.default_rng(settings.seed)
            sample = np.sort(rng.choice(n_keys, size=min(settings.train_rows, n_keys), replace=False))
            index.train(keys.gather(sample))
        with tqdm(
            total=n_keys, desc=f"index {name}", unit="key", disable=not show_progress, dynamic_ncols=True
        ) as bar:
            for start in range(0, n_keys, plan.key_rows):
                block = keys.read(start, min(start + plan.key_rows, n_keys))
                index.add(block)
                bar.update(len(block))
        write_with(path, lambda temporary: faiss.write_index(index, str(temporary)))
    if settings.index_params:
        try:
            faiss.ParameterSpace().set_index_parameters(index, settings.index_params)
        except RuntimeError as error:
            raise ConfigError(f"--index-params {settings.index_params!r}: {_faiss_reason(error)}") from None
    return index


def _faiss_reason(error: RuntimeError) -> str:
    """The message of a FAISS C++ exception without its source location, on one line."""
    return " ".join(str(error).rsplit(": ", 1)[-1].split())
