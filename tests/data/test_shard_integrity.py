"""A shard index names only files of its own folder, and a shard changed after sharding (same size,
other text) is caught by its recorded SHA-256 when it is read, not trained on."""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import pytest

from interlingua.data.streaming import INDEX_FILE, ShardIndex, iter_stream, shard_corpus
from interlingua.errors import DataError


@pytest.fixture
def shards(tmp_path: Path) -> Path:
    source = tmp_path / "in"
    source.mkdir()
    (source / "de-en.de").write_text("".join(f"das haus {i}\n" for i in range(20)), encoding="utf-8")
    (source / "de-en.en").write_text("".join(f"the house {i}\n" for i in range(20)), encoding="utf-8")
    shard_corpus([source], tmp_path / "shards", shards=2, pivot="eng")
    return tmp_path / "shards"


def _edit_index(folder: Path, edit) -> None:
    index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
    edit(index)
    (folder / INDEX_FILE).write_text(json.dumps(index), encoding="utf-8")


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/hostname", "sub/shard.gz", ".."])
def test_an_index_naming_a_file_outside_its_folder_is_refused(shards: Path, name: str) -> None:
    _edit_index(shards, lambda index: index["shards"][0].update(file=name))
    with pytest.raises(DataError, match="not a file of its own folder"):
        ShardIndex.load(shards)


def test_a_shard_changed_after_sharding_is_caught_when_read(shards: Path) -> None:
    index = ShardIndex.load(shards)
    assert len(list(islice(iter_stream(index, buffer_size=4), 40))) == 40
    shard = index.shards[0].path
    text = gzip.decompress(shard.read_bytes()).decode("utf-8")
    changed = gzip.compress(text.replace("haus", "hau5").encode("utf-8"), mtime=0)
    shard.write_bytes(changed[: len(shard.read_bytes())].ljust(len(shard.read_bytes()), b"\0"))
    with pytest.raises(DataError, match="does not match the SHA-256 its index recorded"):
        list(islice(iter_stream(ShardIndex.load(shards), buffer_size=4), 40))
