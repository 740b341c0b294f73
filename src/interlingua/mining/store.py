"""On-disk artefacts of a mining run: text stores, embedding matrices, progress records.

Everything a stage produces lives in files so that a run can stop at any moment and resume.  Two
rules keep that safe: a file that is written in one go is written to a temporary name and renamed
(``atomic_write_json``), and a block of a large array is marked done in ``RangeProgress`` only
after its data has been flushed.

Embedding matrices are ``.npy`` files read through short-lived memory maps: a map's resident pages
count towards the process's RSS until it is closed, so each read maps, copies and unmaps, and the
memory held stays bounded by the block being read, not by the file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from array import array
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from interlingua import __version__
from interlingua.atomic import write_json
from interlingua.data.textio import iter_lines
from interlingua.errors import ConfigError, DataError

# Rows gathered per memory map in ``MatrixFile.gather``: bounds the pages a map keeps resident.
GATHER_CHUNK_ROWS = 4096


def atomic_write_json(path: Path, payload: object) -> None:
    """Write JSON to ``path`` so that readers see either the old or the new file, never half of one."""
    write_json(path, payload, sort_keys=True, ensure_ascii=True)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None if the file does not exist."""
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def file_identity(path: Path) -> dict:
    """What identifies an input file's content cheaply: absolute path, size and modification time."""
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class RangeProgress:
    """Which row ranges of a stage's output are finished, persisted as JSON after each range.

    Ranges rather than block numbers are recorded, so that a resumed run may use another block
    size (another ``--max-memory``) and still skip exactly the rows already done.
    """

    def __init__(self, path: Path, total: int) -> None:
        self.path = path
        self.total = total
        record = read_json(path)
        self.done: list[tuple[int, int]] = [tuple(r) for r in record["done"]] if record else []

    def mark(self, start: int, stop: int) -> None:
        merged: list[tuple[int, int]] = []
        for a, b in sorted([*self.done, (start, stop)]):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.done = merged
        atomic_write_json(self.path, {"done": [list(r) for r in merged], "total": self.total})

    def rows_done(self) -> int:
        return sum(b - a for a, b in self.done)

    def pending(self, block_rows: int) -> Iterator[tuple[int, int]]:
        """The unfinished rows, as blocks of at most ``block_rows``."""
        cursor = 0
        for a, b in [*self.done, (self.total, self.total)]:
            for start in range(cursor, a, block_rows):
                yield start, min(start + block_rows, a)
            cursor = max(cursor, b)


class TextStore:
    """One input text, copied uncompressed with line offsets, so that any line can be read by id.

    Files built (in ``folder``, with ``name`` as prefix): ``.txt`` the lines joined by LF,
    ``.offsets.npy`` int64 start of each line (plus the end), ``.hashes.npy`` a 64-bit hash of each
    line's sentence (for de-duplication), ``.rows.npy`` the line of each mined row (every line, or
    the first occurrence of each distinct sentence when unified).
    With ``id_column`` each input line is ``ID<TAB>sentence`` (the BUCC format): the sentence is
    what gets encoded and mined, the ID replaces the line number in the output.
    """

    def __init__(self, folder: Path, name: str, *, id_column: bool) -> None:
        self.id_column = id_column
        self.text_path = folder / f"{name}.txt"
        self.offsets_path = folder / f"{name}.offsets.npy"
        self.hashes_path = folder / f"{name}.hashes.npy"
        self.rows_path = folder / f"{name}.rows.npy"
        self.meta_path = folder / f"{name}.json"

    @classmethod
    def build(cls, source: Path, folder: Path, name: str, *, id_column: bool, unify: bool) -> TextStore:
        store = cls(folder, name, id_column=id_column)
        offsets = array("q", [0])
        hashes = array("Q")
        blank = bytearray()
        position = 0
        with open(store.text_path, "wb") as out:
            for number, line in iter_lines(source):
                if id_column and "\t" not in line:
                    raise DataError(source, "expected ID<TAB>sentence (the BUCC format)", number)
                sentence = line.split("\t", 1)[1] if id_column else line
                digest = hashlib.blake2b(sentence.encode("utf-8"), digest_size=8).digest()
                hashes.append(int.from_bytes(digest, "little"))
                blank.append(not sentence.strip())
                encoded = line.encode("utf-8") + b"\n"
                out.write(encoded)
                position += len(encoded)
                offsets.append(position)
        hash_array = np.frombuffer(hashes, dtype=np.uint64) if hashes else np.zeros(0, dtype=np.uint64)
        if unify:
            _, first = np.unique(hash_array, return_index=True)
            rows = np.sort(first).astype(np.int64)
        else:
            rows = np.arange(len(hash_array), dtype=np.int64)
        # Blank lines are not mined: their zero vectors would match nothing (the encoders' rule).
        rows = rows[~np.frombuffer(bytes(blank), dtype=bool)[rows]]
        np.save(store.offsets_path, np.frombuffer(offsets, dtype=np.int64))
        np.save(store.hashes_path, hash_array)
        np.save(store.rows_path, rows)
        atomic_write_json(
            store.meta_path, {"source": str(source), "lines": len(hash_array), "rows": len(rows)}
        )
        return store

    @property
    def line_count(self) -> int:
        return int(read_json(self.meta_path)["lines"])

    def rows(self) -> np.ndarray:
        """Line number (0-based) of each mined row."""
        return np.load(self.rows_path)

    def hashes(self) -> np.ndarray:
        return np.load(self.hashes_path)

    def read(self, lines: np.ndarray) -> list[tuple[str, str]]:
        """``(id, sentence)`` of each requested 0-based line; the id is the 1-based line number
        unless the store has an ID column."""
        offsets = np.load(self.offsets_path, mmap_mode="r")
        order = np.argsort(lines, kind="stable")
        results: list[tuple[str, str]] = [("", "")] * len(lines)
        with open(self.text_path, "rb") as handle:
            for position in order.tolist():
                line = int(lines[position])
                start, stop = int(offsets[line]), int(offsets[line + 1])
                handle.seek(start)
                text = handle.read(stop - start - 1).decode("utf-8")
                if self.id_column:
                    identifier, sentence = text.split("\t", 1)
                else:
                    identifier, sentence = str(line + 1), text
                results[position] = (identifier, sentence)
        del offsets
        return results


class MatrixFile:
    """A 2-D ``.npy`` matrix on disk (embeddings, k-NN results), read and written by row blocks."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path, rows: int, columns: int, dtype: np.dtype | type) -> MatrixFile:
        matrix = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(rows, columns))
        matrix.flush()
        del matrix
        return cls(path)

    def _map(self, mode: str = "r") -> np.memmap:
        return np.load(self.path, mmap_mode=mode)

    @property
    def shape(self) -> tuple[int, int]:
        matrix = self._map()
        shape = matrix.shape
        del matrix
        return shape

    def write(self, start: int, block: np.ndarray) -> None:
        matrix = self._map("r+")
        matrix[start : start + len(block)] = block
        matrix.flush()
        del matrix

    def read(self, start: int, stop: int, dtype: np.dtype | type | None = np.float32) -> np.ndarray:
        """Rows ``start:stop`` as an array of their own, converted to ``dtype`` (None: as stored)."""
        matrix = self._map()
        block = np.array(matrix[start:stop], dtype=dtype)
        del matrix
        return block

    def gather(self, ids: np.ndarray) -> np.ndarray:
        """The rows ``ids`` (any shape) as float32, shape ``ids.shape + (dim,)``.

        Rows are fetched in ascending order, a few thousand per memory map, so that the pages
        touched stay few and are released after each chunk.
        """
        flat = ids.reshape(-1)
        unique, inverse = np.unique(flat, return_inverse=True)
        dim = self.shape[1]
        rows = np.empty((len(unique), dim), dtype=np.float32)
        for start in range(0, len(unique), GATHER_CHUNK_ROWS):
            matrix = self._map()
            rows[start : start + GATHER_CHUNK_ROWS] = matrix[unique[start : start + GATHER_CHUNK_ROWS]]
            del matrix
        return rows[inverse].reshape(*ids.shape, dim)


class StageFolder:
    """The folder of one pipeline stage, tied to a fingerprint of everything its output depends on.

    ``stage.json`` holds the fingerprint, whether the stage finished, and the interlingua version
    that wrote it.  A folder of another version is refused (``ConfigError``).  A folder whose
    fingerprint differs from the current one (other inputs or settings) is wiped and the stage
    starts again; a matching unfinished one is resumed; a matching finished one is reused as is.
    The fingerprint of each stage contains the previous stage's, so a change invalidates every
    stage after the first one it affects.
    """

    def __init__(self, root: Path, name: str, fingerprint: dict) -> None:
        self.name = name
        self.path = root / name
        self.record_path = self.path / "stage.json"
        # Round-trip through JSON so that tuples and lists compare equal to what was stored.
        self.fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True))

    def _record(self) -> dict | None:
        record = read_json(self.record_path)
        if record is None:
            return None
        written_by = record.get("interlingua_version")
        if written_by != __version__:
            # Its files may have another layout: neither reused, nor resumed, nor silently deleted.
            raise ConfigError(
                f"{self.path}: written by interlingua {written_by or '(an earlier version)'}, this is "
                f"{__version__}; stages are not mixed across versions: delete it or choose another --work-dir"
            )
        return record if record["fingerprint"] == self.fingerprint else None

    @property
    def complete(self) -> bool:
        record = self._record()
        return bool(record and record["complete"])

    @property
    def started(self) -> bool:
        return self._record() is not None

    def reset(self) -> None:
        """Empty the folder for a fresh start; ``begin`` must follow once its files are created."""
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)

    def begin(self) -> None:
        self._write_record(complete=False)

    def finish(self) -> None:
        self._write_record(complete=True)

    def _write_record(self, *, complete: bool) -> None:
        record = {"fingerprint": self.fingerprint, "complete": complete, "interlingua_version": __version__}
        atomic_write_json(self.record_path, record)
