"""Corpora larger than memory: shard them to disk once, then stream the pairs from the shards.

**Sharding** (``shard_corpus``, ``interlingua data shard``) reads parallel files (two aligned files
or a TSV, plain or compressed, folders as ``read_parallel_folder`` reads them) with the checks of
``parallel.py``: mismatched line counts, invalid UTF-8 and the like stop it with the file and line,
and pairs with an empty side are skipped and counted.  It reads every input twice and never holds
a corpus: the first pass checks and counts, the second interleaves the corpora at random (so that
every part of every shard mixes all languages in proportion) and writes the stream in ``shards``
consecutive gzip files of JSON lines, ``[corpus, source, target]``.  ``index.json`` lists the
shards (pairs, bytes, sha256), the corpora (languages, pairs, empty pairs skipped) and the input
files (path, bytes, sha256).  A random sample of each corpus goes to ``sample.jsonl.gz``, to train
a vocabulary on without reading the shards.  The shards are written to a staging folder renamed
at the end: a folder with an ``index.json`` is complete.

**Streaming** (``iter_stream``, and ``StreamingPairs`` for a DataLoader or the Trainer) is a pure
function of (seed, epoch, position), so that every worker, every rank and every restart agree on
it without talking to each other:

* each epoch concatenates the shards in an order drawn from (seed, epoch);
* that sequence is cut into ``streams`` contiguous, disjoint ranges of equal length (to one pair),
  one per (rank, DataLoader worker); each stream moves on to its range of the next epoch when its
  range is done, so a stream never ends (the Trainer stops at ``max_steps``);
* a stream reads its range in chunks of ``buffer_size`` pairs, shuffled with a generator seeded
  by (seed, epoch, stream, chunk): memory holds one chunk, whatever the corpus size;
* with ``batch_size``, a chunk is also cut into batches of similar length (UTF-8 bytes of the
  longer side; random pairs pad to their longest member), the batches in random order, and each
  stream's epoch is truncated to whole batches (as ``drop_last`` does);
* resuming at a position reads only what it must: whole shards before it are skipped by their
  counts, then the lines of one shard up to the start of the chunk, then the chunk.

A position is only meaningful for the same index, seed, buffer size, batch size and number of
streams: resume a run with the same settings, ranks and workers.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import logging
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
import torch.utils.data
from datasets.iterable_dataset import ExamplesIterable
from tqdm.auto import tqdm

from interlingua import __version__
from interlingua.atomic import sha256_file
from interlingua.data.parallel import (
    ParallelCorpus,
    ParallelFiles,
    find_parallel_files,
    is_blank,
    no_pairs_error,
)
from interlingua.data.textio import iter_lines
from interlingua.errors import ConfigError, DataError
from interlingua.provenance import file_record, utc_now

logger = logging.getLogger(__name__)

INDEX_FILE = "index.json"
SAMPLE_FILE = "sample.jsonl.gz"
FORMAT = "interlingua-shards/1"
DEFAULT_BUFFER = 10_000
DEFAULT_SAMPLE_PAIRS = 20_000  # the default tokenizer_lines_per_language of a training run
# Written once, read every epoch: gzip decompresses as fast whatever the level, and level 1 writes
# several times faster than the default 9 for files about 15% larger.
_GZIP_LEVEL = 1
_INTERLEAVE_BLOCK = 1 << 14  # corpus ids of the interleaving drawn at once
# The first word of every seed, so that the generators of different purposes never coincide.
_SHARD_ORDER, _CHUNK_ORDER, _INTERLEAVING, _SAMPLE = range(4)


# --------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class Shard:
    """One shard file and the number of pairs (lines) the index says it holds."""

    path: Path
    pairs: int
    bytes: int
    sha256: str | None = None


@dataclass(frozen=True)
class ShardIndex:
    """A loaded ``index.json``: the shards in writing order, the corpora and the sample file."""

    path: Path
    shards: tuple[Shard, ...]
    corpora: tuple[dict[str, Any], ...]
    sample: Path | None
    seed: int

    @property
    def pairs(self) -> int:
        return sum(shard.pairs for shard in self.shards)

    @property
    def languages(self) -> list[str]:
        """The source languages of the corpora (the target side is usually the pivot), sorted."""
        return sorted({corpus["src_lang"] for corpus in self.corpora})

    @classmethod
    def load(cls, path: str | Path) -> ShardIndex:
        """The index of a shard folder (or its ``index.json``); every shard must be there, with the
        size the index gives it (a truncated or replaced shard is caught here, not mid-run)."""
        path = Path(path)
        if path.is_dir():
            path = path / INDEX_FILE
        if not path.is_file():
            raise DataError(
                path, "no shard index: shard the corpus first (interlingua data shard INPUT --output DIR)"
            )
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
            if values.get("format") != FORMAT:
                raise ValueError(f"format {values.get('format')!r}, expected {FORMAT!r}")
            shards = tuple(
                Shard(
                    _inside(path, entry["file"]),
                    int(entry["pairs"]),
                    int(entry["bytes"]),
                    entry.get("sha256"),
                )
                for entry in values["shards"]
            )
            corpora = tuple(values["corpora"])
            sample = values.get("sample")
            index = cls(
                path,
                shards,
                corpora,
                _inside(path, sample["file"]) if sample else None,
                int(values["seed"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise DataError(path, f"not a shard index written by interlingua data shard: {error}") from None
        for shard in shards:
            if not shard.path.is_file():
                raise DataError(shard.path, f"shard missing: {path} lists it; shard the corpus again")
            size = shard.path.stat().st_size
            if size != shard.bytes:
                raise DataError(
                    shard.path,
                    f"{size} bytes, but {path} lists {shard.bytes}: the shard was changed or cut short; "
                    "shard the corpus again",
                )
        if not index.pairs:
            raise DataError(path, "the index lists no pairs")
        return index


def _inside(index: Path, name: str) -> Path:
    """The file ``name`` of the index's folder: an index naming a path elsewhere (``../x``, ``/etc/x``)
    would make training read, and report on, a file the user did not shard."""
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise DataError(index, f"names {name!r}, not a file of its own folder: shard the corpus again")
    return index.parent / name


# Shards whose SHA-256 was checked by this process, with the size and time it was checked at.
_VERIFIED: set[tuple[Path, int, int]] = set()


def _verify(shard: Shard) -> None:
    """Check the shard's bytes against the SHA-256 its index recorded, once per process and file
    version: a shard changed after sharding (same size, other text) would train on other pairs."""
    stat = shard.path.stat()
    key = (shard.path, stat.st_size, stat.st_mtime_ns)
    if shard.sha256 is None or key in _VERIFIED:
        return
    if sha256_file(shard.path) != shard.sha256:
        raise DataError(
            shard.path, "does not match the SHA-256 its index recorded: the shard was changed; shard again"
        )
    _VERIFIED.add(key)


@dataclass
class ShardedCorpus(ParallelCorpus):
    """A corpus of a shard index: ``len()`` is its number of pairs in the shards, while ``src`` and
    ``tgt`` hold only the random sample drawn when sharding (enough to train a vocabulary on)."""

    pairs: int = 0

    def __len__(self) -> int:
        return self.pairs


def sample_corpora(index: ShardIndex) -> list[ShardedCorpus]:
    """The corpora of ``index``, each with its sample (the file written by ``shard_corpus``)."""
    sides: list[tuple[list[str], list[str]]] = [([], []) for _ in index.corpora]
    if index.sample is not None:
        for number, line in iter_lines(index.sample):
            corpus, source, target = _parse_record(index.sample, number, line)
            sides[corpus][0].append(source)
            sides[corpus][1].append(target)
    return [
        ShardedCorpus(
            name=corpus["name"],
            src_lang=corpus["src_lang"],
            tgt_lang=corpus["tgt_lang"],
            src=src,
            tgt=tgt,
            sources=tuple(entry["path"] for entry in corpus["files"]),
            skipped_empty=corpus["skipped_empty"],
            pairs=corpus["pairs"],
        )
        for corpus, (src, tgt) in zip(index.corpora, sides, strict=True)
    ]


def _parse_record(path: Path, number: int, line: str) -> tuple[int, str, str]:
    try:
        corpus, source, target = json.loads(line)
    except (ValueError, TypeError) as error:
        raise DataError(
            path, f"not a shard record ({error}): the file is damaged; shard the corpus again", number
        ) from None
    return corpus, source, target


# --------------------------------------------------------------------------- sharding


@dataclass(frozen=True)
class _Counted:
    """A corpus after the first pass: its files, its non-empty pairs and the pairs skipped."""

    files: ParallelFiles
    pairs: int
    skipped_empty: int


def _count(files: ParallelFiles) -> _Counted:
    lines = pairs = skipped_empty = 0
    for lines, source, target in files.iter_lines():  # noqa: B007 - ``lines`` is the last line's number
        if is_blank(source) or is_blank(target):
            skipped_empty += 1
        else:
            pairs += 1
    if not pairs:
        raise no_pairs_error(files.paths[0], lines, skipped_empty, 0)
    return _Counted(files, pairs, skipped_empty)


def _non_empty_pairs(files: ParallelFiles) -> Iterator[tuple[str, str]]:
    for _, source, target in files.iter_lines():
        if not (is_blank(source) or is_blank(target)):
            yield source, target


def _interleaving(sizes: Sequence[int], rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The corpus ids of a uniformly random interleaving of corpora of ``sizes`` pairs, a block at
    a time: each block's composition is drawn from what is left (multivariate hypergeometric) and
    arranged at random, which is the same distribution as shuffling all ids at once."""
    remaining = np.asarray(sizes, dtype=np.int64)
    while total := int(remaining.sum()):
        counts = rng.multivariate_hypergeometric(remaining, min(_INTERLEAVE_BLOCK, total))
        remaining -= counts
        yield rng.permutation(np.repeat(np.arange(len(sizes)), counts))


def _open_writer(path: Path) -> io.TextIOWrapper:
    # No time stamp in the gzip header: the same inputs and seed give the same bytes (and sha256).
    raw = gzip.GzipFile(path, "wb", compresslevel=_GZIP_LEVEL, mtime=0)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")


def _record(corpus: int, source: str, target: str) -> str:
    return json.dumps([corpus, source, target], ensure_ascii=False) + "\n"


def _changed(files: ParallelFiles, more: bool) -> DataError:
    return DataError(
        files.paths[0],
        f"{'more' if more else 'fewer'} pairs than when it was counted: it changed while being sharded",
    )


def _input_corpora(inputs: Sequence[str | Path | ParallelFiles], pivot: str | None) -> list[ParallelFiles]:
    corpora: list[ParallelFiles] = []
    for item in inputs:
        corpora.extend([item] if isinstance(item, ParallelFiles) else find_parallel_files(item, pivot=pivot))
    if not corpora:
        raise ConfigError("nothing to shard: give at least one folder of parallel files")
    return corpora


def shard_corpus(
    inputs: Sequence[str | Path | ParallelFiles],
    output: str | Path,
    *,
    shards: int,
    pivot: str | None = None,
    seed: int = 0,
    sample_pairs: int = DEFAULT_SAMPLE_PAIRS,
    progress: bool = False,
) -> ShardIndex:
    """Write the pairs of ``inputs`` (folders, read as ``read_parallel_folder`` reads them with
    ``pivot``, or ``ParallelFiles``) to ``shards`` shards in the new folder ``output``.

    Memory does not grow with the corpora: one block of the interleaving, the open files (two per
    corpus, all open during the second pass; an xz file's decoder holds its dictionary, 8 MiB at
    the default level) and the sample's line numbers.
    """
    output = Path(output)
    if shards < 1:
        raise ConfigError(f"shards must be at least 1, not {shards}")
    if sample_pairs < 0 or seed < 0:
        raise ConfigError(f"sample_pairs and seed must be 0 or more, not {sample_pairs} and {seed}")
    if output.exists():
        raise ConfigError(f"{output} already exists: shard into a new folder")
    corpora = _input_corpora(inputs, pivot)

    counted = []
    for files in corpora:  # first pass: every error before anything is written
        counted.append(_count(files))
        logger.info(
            "%s: %d pairs, %d skipped (empty side)", files.name, counted[-1].pairs, counted[-1].skipped_empty
        )
    total = sum(corpus.pairs for corpus in counted)
    if shards > total:
        raise ConfigError(f"{shards} shards for {total} pairs: ask for at most {total}")
    entries = [
        {
            "name": corpus.files.name,
            "src_lang": corpus.files.src_lang,
            "tgt_lang": corpus.files.tgt_lang,
            "pairs": corpus.pairs,
            "skipped_empty": corpus.skipped_empty,
            "files": [file_record(path) for path in corpus.files.paths],
        }
        for corpus in counted
    ]

    staging = output.with_name(f".{output.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shard_entries, sampled = _write_shards(counted, staging, shards, seed, sample_pairs, progress)
        index = {
            "format": FORMAT,
            "interlingua_version": __version__,
            "created": utc_now(),
            "seed": seed,
            "pairs": total,
            "shards": shard_entries,
            "sample": {"file": SAMPLE_FILE, "pairs_per_corpus": sample_pairs, "pairs": sampled},
            "corpora": entries,
        }
        (staging / INDEX_FILE).write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", "utf-8")
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ShardIndex.load(output)


def _write_shards(
    counted: list[_Counted], folder: Path, shards: int, seed: int, sample_pairs: int, progress: bool
) -> tuple[list[dict[str, Any]], int]:
    """The second pass: the interleaved pairs into consecutive shards, and the sample; returns the
    shard entries of the index and the number of pairs sampled."""
    sizes = [corpus.pairs for corpus in counted]
    total = sum(sizes)
    bounds = [k * total // shards for k in range(shards + 1)]
    width = max(5, len(str(shards - 1)))
    readers = [_non_empty_pairs(corpus.files) for corpus in counted]
    # The sample: ``sample_pairs`` pair numbers of each corpus drawn now, picked up as they come.
    picks = [
        np.sort(
            np.random.default_rng([seed, _SAMPLE, corpus]).choice(
                size, min(size, sample_pairs), replace=False
            )
        )
        for corpus, size in enumerate(sizes)
    ]
    next_pick = [0] * len(sizes)
    seen = [0] * len(sizes)
    entries: list[dict[str, Any]] = []
    shard = position = 0
    path = folder / f"shard-{shard:0{width}d}.jsonl.gz"
    bar = tqdm(total=total, unit="pair", desc="sharding", disable=not progress, dynamic_ncols=True)
    writer = _open_writer(path)
    try:
        with _open_writer(folder / SAMPLE_FILE) as sample:
            for block in _interleaving(sizes, np.random.default_rng([seed, _INTERLEAVING])):
                for corpus in block.tolist():
                    pair = next(readers[corpus], None)
                    if pair is None:
                        raise _changed(counted[corpus].files, more=False)
                    record = _record(corpus, *pair)
                    writer.write(record)
                    pick = next_pick[corpus]
                    if pick < len(picks[corpus]) and picks[corpus][pick] == seen[corpus]:
                        sample.write(record)
                        next_pick[corpus] += 1
                    seen[corpus] += 1
                    position += 1
                    if position == bounds[shard + 1]:
                        writer.close()
                        entries.append(_shard_entry(path, bounds[shard + 1] - bounds[shard]))
                        shard += 1
                        if shard < shards:
                            path = folder / f"shard-{shard:0{width}d}.jsonl.gz"
                            writer = _open_writer(path)
                bar.update(len(block))
        for corpus, reader in enumerate(readers):
            if next(reader, None) is not None:
                raise _changed(counted[corpus].files, more=True)
    finally:
        writer.close()
        bar.close()
        for reader in readers:
            reader.close()
    return entries, sum(next_pick)


def _shard_entry(path: Path, pairs: int) -> dict[str, Any]:
    entry = file_record(path)
    return {"file": path.name, "pairs": pairs, "bytes": entry["bytes"], "sha256": entry["sha256"]}


# --------------------------------------------------------------------------- streaming


def shard_order(shards: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which an epoch concatenates the shards."""
    return np.random.default_rng([seed, _SHARD_ORDER, epoch]).permutation(shards)


def stream_range(pairs: int, stream: int, streams: int) -> tuple[int, int]:
    """The positions ``[begin, end)`` of an epoch's concatenated shards that ``stream`` reads."""
    return stream * pairs // streams, (stream + 1) * pairs // streams


def _shard_records(shard: Shard, start: int, stop: int) -> Iterator[tuple[int, str, str]]:
    """Records ``(corpus, source, target)`` ``start`` to ``stop`` (0-based, ``stop`` excluded) of a
    shard; the lines before ``start`` are read but not parsed."""
    if start >= stop:
        return
    if not shard.path.is_file():
        raise DataError(shard.path, "shard missing: its index lists it; shard the corpus again")
    _verify(shard)
    number = 0
    for number, line in iter_lines(shard.path):
        if number > start:
            yield _parse_record(shard.path, number, line)
            if number == stop:
                return
    raise DataError(
        shard.path,
        f"holds {number} pairs, but its index lists {shard.pairs}: the shard was cut short; "
        "shard the corpus again",
    )


def _epoch_records(
    index: ShardIndex, order: np.ndarray, begin: int, end: int
) -> Iterator[tuple[int, str, str]]:
    """Positions ``begin`` to ``end`` of an epoch, the shards concatenated in ``order``; the shards
    before ``begin`` are skipped by their counts, without being opened."""
    offset = 0
    for number in order.tolist():
        shard = index.shards[number]
        if offset + shard.pairs > begin:
            yield from _shard_records(shard, max(0, begin - offset), min(shard.pairs, end - offset))
        offset += shard.pairs
        if offset >= end:
            return


def _chunk_order(
    chunk: list[tuple[int, str, str]], rng: np.random.Generator, batch_size: int | None
) -> np.ndarray:
    """A random order of the chunk; with ``batch_size``, consecutive batches of similar length."""
    order = rng.permutation(len(chunk))
    if not batch_size:
        return order
    lengths = np.fromiter(
        (max(len(source.encode()), len(target.encode())) for _, source, target in chunk),
        dtype=np.int64,
        count=len(chunk),
    )
    batches = order[np.argsort(lengths[order], kind="stable")].reshape(-1, batch_size)
    return batches[rng.permutation(len(batches))].reshape(-1)


def stream_epoch_length(index: ShardIndex, stream: int, streams: int, batch_size: int | None = None) -> int:
    """Pairs ``stream`` reads in each epoch (its range, truncated to whole batches)."""
    begin, end = stream_range(index.pairs, stream, streams)
    length = end - begin
    return length - length % batch_size if batch_size else length


def iter_stream(
    index: ShardIndex,
    *,
    seed: int = 0,
    stream: int = 0,
    streams: int = 1,
    buffer_size: int = DEFAULT_BUFFER,
    batch_size: int | None = None,
    start: int = 0,
) -> Iterator[tuple[str, str]]:
    """The (source, target) pairs of one stream, epoch after epoch, without end, from position
    ``start`` (pairs of this stream already consumed); see the module's docstring."""
    arguments = {"seed": seed, "buffer_size": buffer_size, "batch_size": batch_size, "start": start}
    for _, source, target in iter_records(index, stream=stream, streams=streams, **arguments):
        yield source, target


def iter_records(
    index: ShardIndex,
    *,
    seed: int = 0,
    stream: int = 0,
    streams: int = 1,
    buffer_size: int = DEFAULT_BUFFER,
    batch_size: int | None = None,
    start: int = 0,
) -> Iterator[tuple[int, str, str]]:
    """``iter_stream`` with each pair's corpus (its position in ``index.corpora``) first."""
    if not 0 <= stream < streams:
        raise ValueError(f"stream {stream} of {streams}")
    if buffer_size < 1:
        raise ConfigError(f"the shuffle buffer must hold at least one pair, not {buffer_size}")
    length = stream_epoch_length(index, stream, streams, batch_size)
    if length <= 0:
        unit = f"one batch of {batch_size}" if batch_size else "one pair"
        raise ConfigError(
            f"{index.path}: {index.pairs} pairs split between {streams} streams (ranks x DataLoader "
            f"workers) leave stream {stream} less than {unit} an epoch: use fewer workers or smaller batches"
        )
    buffer = -(-buffer_size // batch_size) * batch_size if batch_size else buffer_size
    begin, _ = stream_range(index.pairs, stream, streams)
    epoch, offset = divmod(start, length)
    while True:
        first = offset // buffer
        records = _epoch_records(
            index, shard_order(len(index.shards), seed, epoch), begin + first * buffer, begin + length
        )
        for number in range(first, -(-length // buffer)):
            chunk = list(islice(records, buffer))
            rng = np.random.default_rng([seed, _CHUNK_ORDER, epoch, streams, stream, number])
            order = _chunk_order(chunk, rng, batch_size)
            for position in order[offset - first * buffer if number == first else 0 :].tolist():
                yield chunk[position]
            del chunk  # the next chunk is read after this one is gone: memory holds one
        records.close()
        epoch, offset = epoch + 1, 0


FEATURES = datasets.Features({"source": datasets.Value("string"), "target": datasets.Value("string")})
LABELLED_FEATURES = datasets.Features({**FEATURES, "label": datasets.Value("int64")})


def _no_examples() -> Iterator[tuple[int, dict[str, str]]]:
    yield from ()


class StreamingPairs(datasets.IterableDataset, torch.utils.data.IterableDataset):
    """The rows ``{"source", "target"}`` of a shard index, for a DataLoader or the Trainer.

    Each DataLoader worker of each rank reads its own stream (``iter_stream``): stream
    ``rank * workers + role`` of ``world_size * workers``.  ``rank`` and ``world_size`` are those
    given, else those of ``shard()`` (which accelerate calls for each process when it does not
    dispatch batches), else torch.distributed's when it is initialised, else 0 and 1.

    ``start_batches`` is the number of batches (of ``batch_size``; pairs when it is None) this
    rank's DataLoader has already yielded, e.g. the optimiser steps of a checkpoint times the
    gradient accumulation: the DataLoader takes batches from its workers in turn, so each worker
    skips its share and the roles are rotated so that batch ``start_batches + i`` comes from the
    worker that yielded it in the uninterrupted run.  The Trainer must not skip them again
    (``ignore_data_skip``).

    With ``corpus_labels`` (one integer per corpus of the index), each row also has a ``label``:
    its corpus's (e.g. the index of its language, which EMS's XTR head reads).

    It is a ``datasets.IterableDataset`` because sentence-transformers accepts no other iterable;
    only iteration (``__iter__``) and ``shard`` are supported.
    """

    def __init__(
        self,
        index: ShardIndex | str | Path,
        *,
        seed: int = 0,
        buffer_size: int = DEFAULT_BUFFER,
        batch_size: int | None = None,
        start_batches: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        corpus_labels: Sequence[int] | None = None,
    ) -> None:
        if (rank is None) != (world_size is None):
            raise ValueError("give both rank and world_size, or neither")
        self.index = index if isinstance(index, ShardIndex) else ShardIndex.load(index)
        if corpus_labels is not None and len(corpus_labels) != len(self.index.corpora):
            raise ValueError(f"{len(corpus_labels)} labels for {len(self.index.corpora)} corpora")
        self.corpus_labels = None if corpus_labels is None else list(corpus_labels)
        self.seed = seed
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.start_batches = start_batches
        self.rank = rank
        self.world_size = world_size
        features = FEATURES if corpus_labels is None else LABELLED_FEATURES
        super().__init__(ExamplesIterable(_no_examples, {}), info=datasets.DatasetInfo(features=features))

    def ranks(self) -> tuple[int, int]:
        """(rank, world size) this dataset reads for."""
        if self.rank is not None and self.world_size is not None:
            return self.rank, self.world_size
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def __getstate__(self) -> dict[str, Any]:
        # Sent to DataLoader workers: fix the ranks here, a spawned worker has no process group.
        state = dict(super().__getstate__())
        state["rank"], state["world_size"] = self.ranks()
        return state

    def shard(self, num_shards: int, index: int, contiguous: bool = True) -> StreamingPairs:
        """This dataset for rank ``index`` of ``num_shards`` (how accelerate splits an iterable)."""
        if self.rank is not None and (self.rank, self.world_size) != (index, num_shards):
            raise ConfigError(
                f"the stream was made for rank {self.rank} of {self.world_size}, "
                f"not rank {index} of {num_shards}"
            )
        sharded = copy.copy(self)
        sharded.rank, sharded.world_size = index, num_shards
        return sharded

    @property
    def num_shards(self) -> int:
        # How many ways it splits (accelerate shards a datasets iterable only if it is >= the processes).
        return self.index.pairs

    def set_epoch(self, epoch: int) -> None:
        """Nothing to do: the streams count their epochs themselves (the Trainer sees one endless epoch)."""

    def __iter__(self) -> Iterator[dict[str, str]]:
        rank, world_size = self.ranks()
        worker = torch.utils.data.get_worker_info()
        worker_id, workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        role = (worker_id + self.start_batches) % workers
        done = (self.start_batches - role + workers - 1) // workers  # batches this role yielded before
        records = iter_records(
            self.index,
            seed=self.seed,
            stream=rank * workers + role,
            streams=world_size * workers,
            buffer_size=self.buffer_size,
            batch_size=self.batch_size,
            start=done * (self.batch_size or 1),
        )
        labels = self.corpus_labels
        for corpus, source, target in records:
            if labels is None:
                yield {"source": source, "target": target}
            else:
                yield {"source": source, "target": target, "label": labels[corpus]}

    def __repr__(self) -> str:
        return f"StreamingPairs({self.index.path}, {self.index.pairs} pairs, {len(self.index.shards)} shards)"


def check_languages(index: ShardIndex, languages: Sequence[str]) -> None:
    """A ``ConfigError`` unless ``languages`` (canonical codes) are the index's source languages: a
    stream trains on every pair of its index, so asking for others is a mistake to report."""
    asked, held = sorted(set(languages)), index.languages
    if asked != held:
        raise ConfigError(
            f"{index.path} holds pairs for {', '.join(held)}, not {', '.join(asked)}: streaming trains on "
            "every pair of the shard index, so leave --langs out or shard the languages to train on"
        )
