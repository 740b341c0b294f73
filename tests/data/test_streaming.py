"""Sharding corpora to disk and streaming them back: exact contents, determinism per (seed, epoch),
disjoint and complete streams across DataLoader workers and ranks, exact resume, bounded memory,
and the errors a user's files or a damaged shard folder cause."""

from __future__ import annotations

import hashlib
import json
import pickle
import tracemalloc
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader

from interlingua.data import streaming
from interlingua.data.parallel import ParallelFiles
from interlingua.data.streaming import (
    INDEX_FILE,
    SAMPLE_FILE,
    ShardIndex,
    StreamingPairs,
    check_languages,
    iter_records,
    iter_stream,
    sample_corpora,
    shard_corpus,
    shard_order,
    stream_epoch_length,
)
from interlingua.data.textio import iter_lines, open_text_writer
from interlingua.errors import ConfigError, DataError


def write(path: Path, lines: list[str]) -> Path:
    """A text file of ``lines``, compressed by the path's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_text_writer(path) as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    return path


def corpus_folder(folder: Path, sizes: dict[str, int], suffix: str = ".gz") -> list[tuple[str, str]]:
    """``xx-en.xx`` + ``xx-en.en`` files of ``sizes[xx]`` distinct pairs each; returns the pairs."""
    pairs = []
    for lang, size in sizes.items():
        source = [f"{lang} {i} " + "w" * (i % 37) for i in range(size)]
        target = [f"en-{lang} {i}" for i in range(size)]
        write(folder / f"{lang}-en.{lang}{suffix}", source)
        write(folder / f"{lang}-en.en{suffix}", target)
        pairs += zip(source, target, strict=True)
    return pairs


def shard_records(index: ShardIndex) -> list[list[tuple[int, str, str]]]:
    """Every shard's records, in file order."""
    return [[tuple(json.loads(line)) for _, line in iter_lines(shard.path)] for shard in index.shards]


@pytest.fixture
def sharded(tmp_path: Path) -> tuple[ShardIndex, list[tuple[str, str]]]:
    """240 pairs of three languages in 5 shards, and the pairs."""
    pairs = corpus_folder(tmp_path / "in", {"de": 120, "fr": 80, "sw": 40})
    return shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=5, pivot="eng", seed=3), pairs


# --------------------------------------------------------------------------- sharding


def test_shards_hold_exactly_the_input_pairs(tmp_path: Path) -> None:
    write(tmp_path / "in/de-en.de.xz", ["eins", "", "drei", "vier"])
    write(tmp_path / "in/de-en.en.xz", ["one", "two", "three", "  "])
    write(tmp_path / "in/fr-en.tsv", ["un\tone", "\tdeux", "trois\tthree", "un\tone"])  # a duplicate stays
    plain = ParallelFiles(
        "mine/sw", "swh", "eng", (write(tmp_path / "a.sw", ["moja"]), write(tmp_path / "a.en", ["one"]))
    )
    index = shard_corpus([tmp_path / "in", plain], tmp_path / "shards", shards=3, sample_pairs=2)

    expected = [
        ("eins", "one"),
        ("drei", "three"),
        ("un", "one"),
        ("trois", "three"),
        ("un", "one"),
        ("moja", "one"),
    ]
    records = [record for shard in shard_records(index) for record in shard]
    assert Counter((source, target) for _, source, target in records) == Counter(expected)
    assert [shard.pairs for shard in index.shards] == [2, 2, 2] and index.pairs == 6
    summary = [
        (c["name"], c["src_lang"], c["tgt_lang"], c["pairs"], c["skipped_empty"]) for c in index.corpora
    ]
    assert summary == [
        ("in/de-en", "deu", "eng", 2, 2),
        ("in/fr-en", "fra", "eng", 3, 1),
        ("mine/sw", "swh", "eng", 1, 0),
    ]
    corpus_of = {"eins": 0, "drei": 0, "un": 1, "trois": 1, "moja": 2}
    assert all(corpus == corpus_of[source] for corpus, source, _ in records)
    first_file = index.corpora[0]["files"][0]
    assert first_file["path"] == str((tmp_path / "in/de-en.de.xz").resolve())
    assert first_file["sha256"] == hashlib.sha256((tmp_path / "in/de-en.de.xz").read_bytes()).hexdigest()
    listed = json.loads((tmp_path / "shards" / INDEX_FILE).read_text())["shards"]
    assert [entry["sha256"] for entry in listed] == [
        hashlib.sha256(shard.path.read_bytes()).hexdigest() for shard in index.shards
    ]
    assert sorted(path.name for path in (tmp_path / "shards").iterdir()) == [
        INDEX_FILE,
        SAMPLE_FILE,
        "shard-00000.jsonl.gz",
        "shard-00001.jsonl.gz",
        "shard-00002.jsonl.gz",
    ]
    assert not list(tmp_path.glob(".shards*"))  # the staging folder is gone


def test_every_shard_mixes_the_corpora_in_proportion(tmp_path: Path) -> None:
    corpus_folder(tmp_path / "in", {"de": 600, "fr": 300})
    index = shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=3, seed=1)
    for shard in shard_records(index):
        counts = Counter(corpus for corpus, _, _ in shard)
        assert 150 < counts[0] < 250 and 50 < counts[1] < 150  # 200 and 100 expected
        # Each corpus keeps its order inside a shard (the interleaving only merges them).
        for corpus in (0, 1):
            numbers = [int(source.split()[1]) for c, source, _ in shard if c == corpus]
            assert numbers == sorted(numbers)


def test_sharding_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    corpus_folder(tmp_path / "in", {"de": 50, "fr": 30})

    def digests(name: str, seed: int) -> list[str]:
        index = shard_corpus([tmp_path / "in"], tmp_path / name, shards=2, seed=seed)
        return [hashlib.sha256(shard.path.read_bytes()).hexdigest() for shard in index.shards]

    assert digests("a", 7) == digests("b", 7) != digests("c", 8)


def test_the_sample_is_drawn_from_each_corpus(sharded, tmp_path: Path) -> None:
    index, pairs = sharded
    corpora = sample_corpora(index)
    assert [(c.name, c.src_lang, len(c)) for c in corpora] == [
        ("in/de-en", "deu", 120),
        ("in/fr-en", "fra", 80),
        ("in/sw-en", "swh", 40),
    ]
    for corpus in corpora:  # all pairs (fewer than the 20,000 of the default sample), each once
        assert len(corpus.src) == len(corpus.tgt) == len(set(corpus.src)) == len(corpus)
        assert set(zip(corpus.src, corpus.tgt, strict=True)) <= set(pairs)
        assert {source.split()[0] for source in corpus.src} == {corpus.src_lang[:2]}
    small = shard_corpus([tmp_path / "in"], tmp_path / "small", shards=1, pivot="eng", sample_pairs=5)
    assert [len(c.src) for c in sample_corpora(small)] == [5, 5, 5]
    none = shard_corpus([tmp_path / "in"], tmp_path / "none", shards=1, pivot="eng", sample_pairs=0)
    assert [(len(c), len(c.src)) for c in sample_corpora(none)] == [(120, 0), (80, 0), (40, 0)]


def test_sharding_never_holds_the_corpus(tmp_path: Path) -> None:
    """Peak Python memory while sharding 12,000 pairs of 300 bytes is a fraction of their size."""
    corpus_folder(tmp_path / "in", {"de": 1, "fr": 1})  # the files are replaced below
    for lang in ("de", "fr"):
        write(tmp_path / f"in/{lang}-en.{lang}.gz", [f"{lang} {i} " + "wort " * 60 for i in range(6000)])
        write(tmp_path / f"in/{lang}-en.en.gz", [f"en {i} " + "word " * 60 for i in range(6000)])
    text_bytes = 4 * 6000 * 300
    tracemalloc.start()
    try:
        shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=4, sample_pairs=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < min(2 << 20, text_bytes // 3), f"peak {peak} bytes for {text_bytes} bytes of text"


# --------------------------------------------------------------------------- sharding errors


@pytest.mark.parametrize("longer_side", ["de", "en"])
def test_mismatched_files_are_named_and_nothing_is_written(tmp_path: Path, longer_side: str) -> None:
    write(tmp_path / "in/fr-en.fr", ["un"])
    write(tmp_path / "in/fr-en.en", ["one"])
    write(tmp_path / "in/de-en.de", ["a", "b", "c"] if longer_side == "de" else ["a"])
    write(tmp_path / "in/de-en.en", ["A"] if longer_side == "de" else ["A", "B", "C"])
    with pytest.raises(DataError, match="line counts differ: .*de-en.de has (3|1) lines") as info:
        shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=1)
    assert (Path(info.value.path).name, info.value.line) == (f"de-en.{longer_side}", 2)
    assert not (tmp_path / "shards").exists() and not list(tmp_path.glob(".shards*"))


def test_bad_bytes_are_located(tmp_path: Path) -> None:
    write(tmp_path / "in/de-en.en", ["one", "two"])
    (tmp_path / "in/de-en.de").write_bytes(b"eins\nzw\xffei\n")
    with pytest.raises(DataError, match="invalid UTF-8") as info:
        shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=1)
    assert (info.value.path, info.value.line) == (str(tmp_path / "in/de-en.de"), 2)


def test_a_corpus_of_empty_lines_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "in/de-en.de", ["", "zwei"])
    write(tmp_path / "in/de-en.en", ["one", " "])
    with pytest.raises(DataError, match=r"no non-empty pairs \(2 lines read, 2 with an empty side\)"):
        shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=1)


def test_sharding_option_errors(tmp_path: Path) -> None:
    corpus_folder(tmp_path / "in", {"de": 3})
    with pytest.raises(ConfigError, match="4 shards for 3 pairs"):
        shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=4)
    with pytest.raises(ConfigError, match="at least 1"):
        shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=0)
    with pytest.raises(ConfigError, match="already exists"):
        shard_corpus([tmp_path / "in"], tmp_path / "in", shards=1)
    with pytest.raises(DataError, match="folder not found"):
        shard_corpus([tmp_path / "absent"], tmp_path / "shards", shards=1)


# --------------------------------------------------------------------------- index errors


def test_missing_shard_or_index(sharded, tmp_path: Path) -> None:
    index, _ = sharded
    with pytest.raises(DataError, match="no shard index: shard the corpus first"):
        ShardIndex.load(tmp_path / "in")
    index.shards[2].path.unlink()
    with pytest.raises(DataError, match="shard missing") as info:
        ShardIndex.load(tmp_path / "shards")
    assert info.value.path == str(index.shards[2].path)
    with pytest.raises(DataError, match="shard missing"):  # removed after the index was loaded
        list(islice(iter_stream(index, seed=0), index.pairs))


def test_damaged_shard_is_caught(sharded, tmp_path: Path) -> None:
    index, _ = sharded
    lines = [line for _, line in iter_lines(index.shards[0].path)]
    write(index.shards[0].path, lines[:-3])
    with pytest.raises(DataError, match="bytes, but .* lists .*: the shard was changed or cut short"):
        ShardIndex.load(tmp_path / "shards")
    # An index loaded before the damage: its recorded SHA-256 catches it when the shard is read.
    with pytest.raises(DataError, match="does not match the SHA-256 its index recorded"):
        list(islice(iter_stream(index, seed=0, buffer_size=1000), 2 * index.pairs))
    (tmp_path / "shards" / INDEX_FILE).write_text("{not json")
    with pytest.raises(DataError, match="not a shard index"):
        ShardIndex.load(tmp_path / "shards")


# --------------------------------------------------------------------------- streaming


def test_an_epoch_is_every_pair_once_in_an_order_fixed_by_seed_and_epoch(sharded) -> None:
    index, pairs = sharded
    n = index.pairs
    two_epochs = list(islice(iter_stream(index, seed=11, buffer_size=16), 2 * n))
    first, second = two_epochs[:n], two_epochs[n:]
    assert Counter(first) == Counter(second) == Counter(pairs)
    assert first != second  # another shard order and other chunk shuffles each epoch
    assert list(islice(iter_stream(index, seed=11, buffer_size=16), 2 * n)) == two_epochs
    assert list(islice(iter_stream(index, seed=12, buffer_size=16), n)) != first
    assert list(shard_order(5, 11, 0)) != list(shard_order(5, 11, 1))


def test_the_buffer_shuffles_within_chunks(sharded) -> None:
    index, _ = sharded
    order = list(islice(iter_stream(index, seed=0, buffer_size=1), index.pairs))
    shuffled = list(islice(iter_stream(index, seed=0, buffer_size=48), index.pairs))
    # Chunks of 48 consecutive pairs of the same concatenation, each shuffled.
    for start in range(0, index.pairs, 48):
        chunk = order[start : start + 48]
        assert (
            Counter(shuffled[start : start + 48]) == Counter(chunk) and shuffled[start : start + 48] != chunk
        )


def test_batches_are_length_bucketed_and_the_epoch_cut_to_whole_batches(sharded) -> None:
    index, pairs = sharded
    length = stream_epoch_length(index, 0, 3, batch_size=16)
    assert length == 80 - 80 % 16 == 80
    assert stream_epoch_length(index, 0, 7, batch_size=16) == 32  # 34 pairs: two whole batches
    stream = list(islice(iter_stream(index, seed=1, streams=7, buffer_size=40, batch_size=16), 3 * 32))
    assert len(set(stream[:32])) == 32 and set(stream[:32]) <= set(pairs)
    chunk = list(islice(iter_stream(index, seed=1, buffer_size=64, batch_size=16), 64))
    spans = []
    for start in range(0, 64, 16):
        sizes = sorted(max(len(s.encode()), len(t.encode())) for s, t in chunk[start : start + 16])
        spans.append(sizes[-1] - sizes[0])
    unsorted = sorted(max(len(s.encode()), len(t.encode())) for s, t in chunk)
    assert max(spans) < unsorted[-1] - unsorted[0]  # each batch narrower than the whole chunk


def test_streams_are_disjoint_and_complete(sharded) -> None:
    index, pairs = sharded
    for streams in (1, 2, 4, 7):
        parts = [
            list(
                islice(
                    iter_stream(index, seed=5, stream=s, streams=streams, buffer_size=10),
                    stream_epoch_length(index, s, streams),
                )
            )
            for s in range(streams)
        ]
        assert Counter(pair for part in parts for pair in part) == Counter(pairs)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_resume_from_any_position_yields_exactly_the_rest(sharded) -> None:
    index, _ = sharded
    for batch_size, streams, stream in ((None, 1, 0), (None, 3, 2), (8, 2, 1)):
        settings = {
            "seed": 9,
            "stream": stream,
            "streams": streams,
            "buffer_size": 12,
            "batch_size": batch_size,
        }
        length = stream_epoch_length(index, stream, streams, batch_size)
        total = 3 * length + 5
        full = list(islice(iter_stream(index, **settings), total))
        for start in (0, 1, 11, 12, 13, 49, length - 1, length, length + 7, 2 * length + 24):
            resumed = list(islice(iter_stream(index, start=start, **settings), total - start))
            assert resumed == full[start:], (batch_size, streams, start)


def test_resume_skips_whole_shards_by_their_counts(sharded, monkeypatch) -> None:
    index, _ = sharded
    opened: list[tuple[str, int, int]] = []
    original = streaming._shard_records

    def spy(shard, start, stop):
        opened.append((shard.path.name, start, stop))
        return original(shard, start, stop)

    monkeypatch.setattr(streaming, "_shard_records", spy)
    order = shard_order(len(index.shards), 4, 0)
    sizes = [index.shards[i].pairs for i in order]  # 48 each
    start = sizes[0] + sizes[1] + sizes[2] + 30  # in the fourth shard of the epoch
    next(iter_stream(index, seed=4, buffer_size=8, start=start))
    chunk_start = start - start % 8
    assert opened == [(index.shards[order[3]].path.name, chunk_start - sum(sizes[:3]), sizes[3])]


def test_the_reader_holds_at_most_one_buffer_of_pairs(tmp_path: Path, monkeypatch) -> None:
    corpus_folder(tmp_path / "in", {"de": 400, "fr": 333})
    index = shard_corpus([tmp_path / "in"], tmp_path / "shards", shards=3)
    read = 0
    original = streaming._shard_records

    def counting(shard, start, stop):
        nonlocal read
        for record in original(shard, start, stop):
            read += 1
            yield record

    monkeypatch.setattr(streaming, "_shard_records", counting)
    most = 0
    for consumed, _ in enumerate(
        islice(iter_stream(index, seed=2, buffer_size=25), 3 * index.pairs), start=1
    ):
        most = max(most, read - consumed)
    assert most < 25
    assert read == 3 * index.pairs  # read once an epoch, nothing read twice


# --------------------------------------------------------------------------- the dataset


def batches(
    dataset: StreamingPairs, count: int, workers: int, batch_size: int
) -> list[list[tuple[str, str]]]:
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    return [list(zip(b["source"], b["target"], strict=True)) for b in islice(loader, count)]


def test_dataloader_workers_and_ranks_split_an_epoch_disjointly(sharded) -> None:
    index, pairs = sharded  # 240 pairs: 4 streams of 60, 15 batches of 4 each
    seen = []
    for rank in (0, 1):
        dataset = StreamingPairs(index, seed=1, buffer_size=20, batch_size=4, rank=rank, world_size=2)
        rank_batches = batches(dataset, 30, workers=2, batch_size=4)
        seen.append([pair for batch in rank_batches for pair in batch])
    assert Counter(seen[0] + seen[1]) == Counter(pairs)
    # The same streams read in one process, worker by worker, give the same epoch.
    direct = [
        list(islice(iter_stream(index, seed=1, stream=s, streams=4, buffer_size=20, batch_size=4), 60))
        for s in range(4)
    ]
    assert set(seen[0]) == set(direct[0] + direct[1]) and set(seen[1]) == set(direct[2] + direct[3])


@pytest.mark.parametrize(("workers", "start_batches"), [(0, 5), (2, 3), (2, 4)])
def test_dataset_resumes_at_a_batch(sharded, workers: int, start_batches: int) -> None:
    index, _ = sharded
    settings = {"seed": 6, "buffer_size": 24, "batch_size": 8}
    full = batches(StreamingPairs(index, **settings), 40, workers, 8)  # more than an epoch of each worker
    resumed = batches(
        StreamingPairs(index, start_batches=start_batches, **settings), 40 - start_batches, workers, 8
    )
    assert resumed == full[start_batches:]


def test_ranks_come_from_accelerate_or_are_given(sharded) -> None:
    index, _ = sharded
    dataset = StreamingPairs(index, seed=2, buffer_size=10)
    assert dataset.ranks() == (0, 1)
    prepared = prepare_data_loader(
        DataLoader(dataset, batch_size=5),
        num_processes=2,
        process_index=1,
        put_on_device=False,
        dispatch_batches=False,
    )
    rank_one = [
        pair for batch in islice(prepared, 6) for pair in zip(batch["source"], batch["target"], strict=True)
    ]
    expected = list(islice(iter_stream(index, seed=2, stream=1, streams=2, buffer_size=10), 30))
    assert rank_one == expected
    assert pickle.loads(pickle.dumps(dataset.shard(2, 1))).ranks() == (1, 2)
    with pytest.raises(ConfigError, match="made for rank 1 of 2"):
        dataset.shard(2, 1).shard(4, 3)
    with pytest.raises(ValueError, match="both rank and world_size"):
        StreamingPairs(index, rank=1)


def test_dataset_rows_carry_a_corpus_label(sharded) -> None:
    index, _ = sharded
    dataset = StreamingPairs(index, corpus_labels=[7, 8, 9])
    assert dataset.column_names == ["source", "target", "label"]
    for row in islice(dataset, 100):
        assert row["label"] == {"de": 7, "fr": 8, "sw": 9}[row["source"].split()[0]]
    for corpus, source, _ in islice(iter_records(index, seed=1, buffer_size=7), 100):
        assert corpus == {"de": 0, "fr": 1, "sw": 2}[source.split()[0]]


def test_too_many_streams_for_the_pairs(sharded) -> None:
    index, _ = sharded
    with pytest.raises(ConfigError, match="leave stream 0 less than one batch of 64 an epoch"):
        next(iter_stream(index, streams=4, batch_size=64))
    with pytest.raises(ConfigError, match="at least one pair"):
        next(iter_stream(index, buffer_size=0))


def test_check_languages(sharded) -> None:
    index, _ = sharded
    check_languages(index, ["swh", "deu", "fra"])
    with pytest.raises(
        ConfigError, match="holds pairs for deu, fra, swh, not deu: streaming trains on every pair"
    ):
        check_languages(index, ["deu"])


def test_real_corpus_slice(tmp_path: Path, data_root: Path) -> None:
    """Two TICO-19 corpora (xz, ISO 639-1 names, es_LA) sharded and streamed back whole."""
    folder = tmp_path / "tico"
    for name in ("fr-eng.fr", "fr-eng.eng", "es_LA-eng.es_LA", "es_LA-eng.eng"):
        lines = [text for _, text in islice(iter_lines(data_root / "train_tico19" / f"{name}.xz"), 100)]
        write(folder / f"{name}.xz", lines)
    index = shard_corpus([folder], tmp_path / "shards", shards=4, pivot="en")
    assert index.languages == ["fra", "spa"] and index.pairs == 200
    assert len(set(islice(iter_stream(index, seed=0, buffer_size=64), 200))) == 200
