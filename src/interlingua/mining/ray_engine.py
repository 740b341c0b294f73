"""The mining stages' units of work as Ray tasks (``--engine ray``), over the same stage folders.

The driver (the ``interlingua mine`` process) keeps what ``pipeline`` keeps: the stage folders and
their fingerprints, the progress records and the order of the stages.  Workers compute the units:
an embedding shard (one actor per worker, which loads the encoder once), a block of k-NN queries,
the index of a direction, the margin scoring and the selection (a task each).  They run the same
functions as the single-process engine (``embed.embed_shard``, ``knn.search_rows``,
``pipeline.score_files``, ``pipeline.select_files``), so the stored bytes are the same.

A worker writes a shard or block to a part file of its own, named by its rows, atomically
(``<side>.<start>-<stop>.part.npy``, ``<direction>.<start>-<stop>.part.npz``): a retried unit
replaces the same file, so it can never be counted twice.  Only the driver writes the stage's
matrices: it copies a part in, marks its rows done, and deletes it.  A driver restarted after a
kill first stores the parts that finished while it was away, then submits only the missing rows.

Every path a worker opens must be the same on every node: the work directory, the model folder
and precomputed embeddings (shared storage on a real cluster).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from interlingua.atomic import TEMPORARY_MARK, atomic_file, save_npy
from interlingua.errors import ConfigError, InterlinguaError
from interlingua.mining import embed, knn
from interlingua.mining.pipeline import (
    STORAGE_DTYPES,
    LocalEngine,
    MiningConfig,
    peak_rss_bytes,
    score_files,
    search_directions,
    select_files,
)
from interlingua.mining.plan import MiningPlan, format_bytes
from interlingua.mining.store import MatrixFile, RangeProgress, TextStore

# A unit whose worker died (process killed, node lost) is run again this many times at most.
RETRIES = 3
# An unreachable --ray-address must fail in seconds, not after Ray's own minute of retries.
CONNECT_TIMEOUT_S = 3
# Ray's connection attempts to a silent address (about a second each, 20 by default; Ray's name).
_RAY_CONNECT_RETRIES = "RAY_gcs_server_port_wait_time_s"
# The HTTP/2 client preface and an empty SETTINGS frame (type 4): a gRPC server answers with its own.
_HTTP2_SETTINGS = 4
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, _HTTP2_SETTINGS, 0, 0, 0, 0, 0])
_PART = re.compile(r"^(?P<name>[a-z]+)\.(?P<start>\d+)-(?P<stop>\d+)\.part\.(?P<kind>npy|npz)$")


def import_ray():
    """The ``ray`` module, or the one-line error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'interlingua[ray]'") from None
    return ray


class RayEngine:
    """Runs the units of work of the embed, k-NN, score and select stages on a Ray cluster.

    Joins the cluster at ``address`` (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``), or starts a
    local one on this machine's cores; one already initialised in this process is used as it is.
    Each worker takes ``threads`` CPUs (default 1) and asks Ray for ``max_memory`` bytes, the
    budget its units are planned for, so that Ray never packs more workers on a node than fit.
    """

    def __init__(self, address: str | None, *, threads: int | None, max_memory: int) -> None:
        self.address = address
        self.cpus = threads or 1
        self.max_memory = max_memory
        self.started_here = False
        self.workers = 0
        # Rows this run asked the workers for: a resumed run asks only for the missing ones.
        self.computed = {"embed": 0, "knn": 0}
        # The largest peak resident memory of a worker process, for the summary.
        self.worker_peak_rss = 0
        self._encoders: EncoderPool | None = None

    def __enter__(self) -> RayEngine:
        self.ray = import_ray()
        if not self.ray.is_initialized():
            _connect(self.ray, self.address)
            self.started_here = True
        self.workers = self._count_workers()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.started_here:
            self.ray.shutdown()  # ends the actors too, without a report of each task they still had
        else:
            self._release_encoders()

    def describe(self) -> dict:
        return {
            "name": "ray",
            "address": self.address or "local",
            "workers": self.workers,
            "cpus_per_worker": self.cpus,
            "rows_computed": dict(self.computed),
            "worker_peak_rss_bytes": self.worker_peak_rss,
        }

    def _count_workers(self) -> int:
        """Workers that fit the cluster: per node, the fewer of its CPUs and its memory allow."""
        slots = 0
        for node in self.ray.nodes():
            if node["Alive"]:
                resources = node["Resources"]
                by_cpu = int(resources.get("CPU", 0) // self.cpus)
                slots += min(by_cpu, int(resources.get("memory", 0) // self.max_memory))
        if slots == 0:
            raise ConfigError(
                f"no node of the Ray cluster has {self.cpus} CPU(s) and --max-memory "
                f"{format_bytes(self.max_memory)} of memory free for one worker"
            )
        return slots

    def _options(self) -> dict:
        return {"num_cpus": self.cpus, "memory": self.max_memory}

    def load_encoder(self, config: MiningConfig) -> EncoderPool:
        if self._encoders is None:
            actor = self.ray.remote(ShardWorker).options(
                **self._options(), max_restarts=RETRIES, max_task_retries=RETRIES
            )
            # The encoder gets the worker's CPUs, not one thread per core of the node (ONNX Runtime's
            # default), which would oversubscribe a node running several workers.
            worker_config = replace(_absolute_inputs(config), threads=self.cpus)
            self._encoders = EncoderPool(self.ray, [actor.remote(worker_config) for _ in range(self.workers)])
        return self._encoders

    def embed(self, config: MiningConfig, folder: Path, sides: tuple, plan: MiningPlan, encoder) -> None:
        matrices = {name: MatrixFile(folder / f"{name}.npy") for name, *_ in sides}
        progress = {
            name: RangeProgress(folder / f"{name}.progress.json", len(lines)) for name, lines, *_ in sides
        }

        def store(name: str, start: int, stop: int) -> None:
            part = _part_path(folder, name, start, stop, "npy")
            matrices[name].write(start, np.load(part))
            progress[name].mark(start, stop)
            part.unlink()

        pending = _adopt_parts(folder, "npy", store, progress, plan.embed_rows)
        if not pending:
            return
        pool = encoder or self.load_encoder(config)
        self.computed["embed"] += sum(stop - start for _, start, stop in pending)
        text_folder = sides[0][2].text_path.parent.resolve()
        with _bar(progress, "embed", "sent", config.show_progress) as bar:
            for name, start, stop, peak in self._guard(pool.embed(text_folder, folder.resolve(), pending)):
                self._peak(peak)
                store(name, start, stop)
                bar.update(stop - start)
        self._release_encoders()

    def _release_encoders(self) -> None:
        # The actors hold their CPUs and memory while they live: the later stages' tasks need them.
        for actor in self._encoders.actors if self._encoders else ():
            self.ray.kill(actor)
        self._encoders = None

    def search(self, config: MiningConfig, embed_folder: Path, knn_folder: Path, plan: MiningPlan) -> None:
        embed_folder, knn_folder = embed_folder.resolve(), knn_folder.resolve()
        progress, ks, keys_of = {}, {}, {}
        for name, queries, keys in search_directions(embed_folder):
            progress[name], ks[name] = knn.prepare(queries, keys, config.search, knn_folder, name)
            keys_of[name] = keys.path

        def store(name: str, start: int, stop: int) -> None:
            part = _part_path(knn_folder, name, start, stop, "npz")
            with np.load(part) as block:
                knn.store_rows(knn_folder, name, start, block["sims"], block["ids"])
            progress[name].mark(start, stop)
            part.unlink()

        pending = _adopt_parts(knn_folder, "npz", store, progress, plan.query_rows)
        if not pending:
            return
        if config.search.index:
            # Each direction's index is trained and filled once, by one worker, and saved in the
            # stage folder; the block tasks read it from there.
            build = self.ray.remote(_measured(_build_index)).options(**self._options(), max_retries=RETRIES)
            names = {name for name, _, _ in pending}
            self._get([build.remote(keys_of[n], config.search, plan, knn_folder, n) for n in names])
        task = self.ray.remote(_search_part).options(**self._options(), max_retries=RETRIES)
        submit = lambda name, a, b: task.remote(  # noqa: E731
            embed_folder, knn_folder, name, keys_of[name], config.search, plan, ks[name], a, b
        )
        self.computed["knn"] += sum(stop - start for _, start, stop in pending)
        with _bar(progress, "k-NN", "query", config.show_progress) as bar:
            for name, start, stop, peak in self._guard(self._as_completed(submit, pending)):
                self._peak(peak)
                store(name, start, stop)
                bar.update(stop - start)

    def score(self, knn_folder: Path, score_folder: Path, margin: str, block_rows: int) -> None:
        task = self.ray.remote(_measured(score_files)).options(**self._options(), max_retries=RETRIES)
        self._get([task.remote(knn_folder.resolve(), score_folder.resolve(), margin, block_rows)])

    def select(self, score_folder: Path, select_folder: Path, mode: str) -> None:
        task = self.ray.remote(_measured(select_files)).options(**self._options(), max_retries=RETRIES)
        self._get([task.remote(score_folder.resolve(), select_folder.resolve(), mode)])

    def _as_completed(self, submit, units: list[tuple[str, int, int]]) -> Iterator:
        """``submit(*unit)``'s results as they complete, with two units per worker in flight: enough
        to keep the workers busy, and little work lost when the driver is killed."""
        waiting = iter(units)
        in_flight = [submit(*unit) for unit in itertools.islice(waiting, 2 * self.workers)]
        while in_flight:
            ready, in_flight = self.ray.wait(in_flight, num_returns=1)
            in_flight += [submit(*unit) for unit in itertools.islice(waiting, 1)]
            yield self.ray.get(ready[0])

    def _get(self, refs: list) -> None:
        """Wait for tasks that return their worker's peak memory."""
        for peak in self._guard(iter(self.ray.get(refs))):
            self._peak(peak)

    def _peak(self, peak: int) -> None:
        self.worker_peak_rss = max(self.worker_peak_rss, peak)

    def _guard(self, results: Iterator) -> Iterator:
        """``results``, with a worker's own error (bad input) raised as it is, and Ray's failures
        (a unit still failing after its retries) as one line that says how to go on."""
        ray_errors = self.ray.exceptions
        try:
            yield from results
        except ray_errors.RayTaskError as error:
            if isinstance(error.cause, InterlinguaError):
                raise error.cause from None
            raise
        except ray_errors.RayError as error:
            raise InterlinguaError(
                f"a Ray worker failed {RETRIES + 1} times ({type(error).__name__}); finished shards and "
                "blocks are kept: run the same command again to resume"
            ) from None


class ShardWorker:
    """A Ray actor that loads the encoder once and embeds the shards it is given (one per worker)."""

    def __init__(self, config: MiningConfig) -> None:
        self.config = config
        self.encoder = LocalEngine().load_encoder(config) if config.model is not None else None
        self.sources: dict = {}

    def dimension(self) -> int:
        return self.encoder.dimension

    def embed(
        self, text_folder: Path, folder: Path, name: str, start: int, stop: int
    ) -> tuple[str, int, int, int]:
        """Embed rows ``start:stop`` of side ``name`` into their part file; return the unit and the
        worker's peak memory."""
        if name not in self.sources:
            self.sources[name] = self._source(text_folder, name)
        rows, vectors_of = self.sources[name]
        dtype = np.dtype(STORAGE_DTYPES[self.config.storage])
        save_npy(
            _part_path(folder, name, start, stop, "npy"),
            embed.embed_shard(rows[start:stop], vectors_of, dtype),
        )
        return name, start, stop, peak_rss_bytes()

    def _source(self, text_folder: Path, name: str) -> tuple:
        texts = TextStore(text_folder, name, id_column=self.config.id_column)
        vectors = self.config.src_embeddings if name == "src" else self.config.tgt_embeddings
        of = embed.precomputed_vectors(vectors) if vectors else embed.encoded_vectors(self.encoder, texts)
        return texts.rows(), of


class EncoderPool:
    """The ``ShardWorker`` actors, fed shards as they become free."""

    def __init__(self, ray, actors: list) -> None:
        self.ray = ray
        self.actors = actors

    @property
    def dimension(self) -> int:
        """The encoder's (asked of a worker: the driver does not load it)."""
        return int(self.ray.get(self.actors[0].dimension.remote()))

    def embed(
        self, text_folder: Path, folder: Path, units: list[tuple[str, int, int]]
    ) -> Iterator[tuple[str, int, int, int]]:
        from ray.util import ActorPool

        return ActorPool(self.actors).map_unordered(
            lambda actor, unit: actor.embed.remote(text_folder, folder, *unit), units
        )


def _absolute_inputs(config: MiningConfig) -> MiningConfig:
    """``config`` with the model folder and embedding files that workers open as absolute paths."""
    model = config.model
    if model is not None and Path(model).exists():
        model = str(Path(model).resolve())
    sides = {
        side: replace(vectors, path=vectors.path.resolve()) if vectors else None
        for side, vectors in (
            ("src_embeddings", config.src_embeddings),
            ("tgt_embeddings", config.tgt_embeddings),
        )
    }
    return replace(config, model=model, **sides)


def _measured(function):
    """``function`` as a task that returns its worker's peak resident memory."""

    def task(*args) -> int:
        function(*args)
        return peak_rss_bytes()

    return task


def _build_index(keys_path: Path, settings: knn.SearchSettings, plan: MiningPlan, folder: Path, name: str):
    knn.load_or_build_index(MatrixFile(keys_path), settings, plan, folder, name, False)


@functools.lru_cache(maxsize=1)
def _saved_index(
    keys_path: Path, settings: knn.SearchSettings, plan: MiningPlan, folder: Path, name: str, written: int
):
    """The direction's saved index, read once per worker process (its blocks come in a row).

    ``written`` (the file's modification time) is part of the key: a worker that outlives a run
    (Ray initialised by the caller) must not keep the index of an earlier run at the same path."""
    return knn.load_or_build_index(MatrixFile(keys_path), settings, plan, folder, name, False)


def _search_part(
    embed_folder: Path,
    folder: Path,
    name: str,
    keys_path: Path,
    settings: knn.SearchSettings,
    plan: MiningPlan,
    k: int,
    start: int,
    stop: int,
) -> tuple[str, int, int, int]:
    """Search queries ``start:stop`` of direction ``name`` into their part file; return the unit and the
    worker's peak memory."""
    queries = MatrixFile(embed_folder / ("src.npy" if name == "forward" else "tgt.npy"))
    index = None
    if settings.index:
        written = (folder / f"{name}.index").stat().st_mtime_ns
        index = _saved_index(keys_path, settings, plan, folder, name, written)
    sims, ids = knn.search_rows(queries, MatrixFile(keys_path), index, settings, plan, k, start, stop)
    with atomic_file(_part_path(folder, name, start, stop, "npz")) as temporary, open(temporary, "wb") as out:
        np.savez(out, sims=sims, ids=ids)
    return name, start, stop, peak_rss_bytes()


def _part_path(folder: Path, name: str, start: int, stop: int, kind: str) -> Path:
    return folder / f"{name}.{start}-{stop}.part.{kind}"


def _adopt_parts(
    folder: Path, kind: str, store, progress: dict, block_rows: int
) -> list[tuple[str, int, int]]:
    """Store the parts finished before a restart, drop half-written ones; the units still to do."""
    for path in sorted(folder.iterdir()):
        match = _PART.match(path.name)
        if match and match["kind"] == kind and match["name"] in progress:
            store(match["name"], int(match["start"]), int(match["stop"]))
        elif TEMPORARY_MARK in path.name:
            path.unlink()
    return [(name, a, b) for name, done in progress.items() for a, b in done.pending(block_rows)]


@contextmanager
def _bar(progress: dict, description: str, unit: str, show: bool) -> Iterator[tqdm]:
    """One bar over every worker's units of the stage, both sides or both directions."""
    total = sum(p.total for p in progress.values())
    done = sum(p.rows_done() for p in progress.values())
    with tqdm(
        total=total,
        initial=done,
        desc=f"{description} (ray)",
        unit=unit,
        disable=not show,
        dynamic_ncols=True,
    ) as bar:
        yield bar


def _connect(ray, address: str | None) -> None:
    """Start a local Ray (``address`` None) or join the cluster at ``address``, without Ray's logs."""
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        # A new instance of our own, never one that another program started on this machine.
        ray.init(address="local", include_dashboard=False, **quiet)
        return
    if address != "auto":
        _check_reachable(address)
    try:
        with _environment(_RAY_CONNECT_RETRIES, str(CONNECT_TIMEOUT_S)):
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError) as error:
        raise ConfigError(f"--ray-address {address}: no Ray cluster answers there ({error})") from None


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous


def _check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minutes of retries, when nothing at ``address`` speaks gRPC.

    A Ray head answers the HTTP/2 client preface with a SETTINGS frame, as every gRPC server does;
    a closed port, a dropped connection or a service that stays silent does not.
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S) as connection:
            connection.sendall(_HTTP2_PREFACE)
            answer = connection.recv(9)
    except OSError as error:
        raise ConfigError(
            f"--ray-address {address}: no answer within {CONNECT_TIMEOUT_S} s ({error or 'timed out'})"
        ) from None
    if len(answer) < 4 or answer[3] != _HTTP2_SETTINGS:
        raise ConfigError(f"--ray-address {address}: no Ray cluster answers there (not a gRPC server)")
