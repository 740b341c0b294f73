"""Reading text files: plain, gzip, xz or bzip2, strict UTF-8, errors that name the file and line.

Normalisations (documented in docs/robustness.md, applied silently): the line ending, LF or CRLF, is
removed, and a UTF-8 byte-order mark at the start of a line is dropped (editors write one at the
start of a file; ``cat`` of such files puts one at the start of later lines).  Everything else that
is not one line of UTF-8 text is a ``DataError`` naming the file, the 1-based line and the problem:
bytes that are not UTF-8, a UTF-16 or UTF-32 file, a NUL byte (a binary file), a carriage return
inside a line (a file with old Mac line endings would otherwise be one giant line), a line longer
than ``MAX_LINE_BYTES`` (not a sentence: a binary or minified file; the limit also bounds memory),
and a compressed file that is truncated or corrupt.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from interlingua.errors import DataError

_OPENERS = {".xz": lzma.open, ".lzma": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}
_BOM = b"\xef\xbb\xbf"
# UTF-32 first: its little-endian mark begins with UTF-16's.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
MAX_LINE_BYTES = 1 << 20  # 1 MiB: sentences are a few hundred bytes, paragraphs a few thousand
# How a truncated or corrupt compressed file fails, by module: gzip raises BadGzipFile (an OSError)
# or zlib.error, xz LZMAError, bzip2 OSError, and all of them EOFError when the stream stops short.
_READ_ERRORS = (EOFError, lzma.LZMAError, zlib.error, OSError)


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file for reading bytes, decompressing by its suffix (.xz, .gz, .bz2)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a regular file")
    opener = _OPENERS.get(path.suffix.lower())
    return opener(path, "rb") if opener else open(path, "rb")  # noqa: SIM115 - caller closes


def _decode_line(path: str | Path, raw: bytes, number: int) -> str:
    """The text of one raw line (line ending included), or the ``DataError`` that it is not text."""
    if number == 1:
        for mark, encoding in _WIDE_BOMS:
            if raw.startswith(mark):
                raise DataError(
                    path,
                    f"the file is {encoding} (it starts with its byte-order mark): convert it to UTF-8",
                    number,
                )
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    if len(raw) > MAX_LINE_BYTES:
        raise DataError(
            path,
            f"line longer than {MAX_LINE_BYTES // 2**20} MiB: one sentence or paragraph per line is expected",
            number,
        )
    if b"\x00" in raw:
        raise DataError(path, "NUL byte in line (a binary file, or UTF-16/UTF-32 text?)", number)
    if b"\r" in raw:
        raise DataError(
            path, "carriage return inside the line: lines must end with LF or CRLF (old Mac file?)", number
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        near = raw[max(0, error.start - 20) : error.start + 20]
        raise DataError(
            path,
            f"invalid UTF-8 at byte {error.start} of the line (near {near!r}): the file must be UTF-8",
            number,
        ) from None


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line, 1-based, without the line ending."""
    try:
        with open_binary(path) as handle:
            number = 0
            # A bounded read: a huge "line" (a file without newlines) fails without filling memory.
            while raw := handle.readline(MAX_LINE_BYTES + 2):
                number += 1
                yield number, _decode_line(path, raw, number)
    except _READ_ERRORS as error:
        raise DataError(path, f"cannot decompress or read: {error}") from None


def read_lines(path: str | Path) -> list[str]:
    """All lines of a text file (empty lines kept, so that aligned files stay aligned)."""
    return [text for _, text in iter_lines(path)]


def open_text_writer(path: str | Path) -> io.TextIOBase:
    """Open a UTF-8 text file for writing, compressing by its suffix (.xz, .gz, .bz2)."""
    path = Path(path)
    opener = _OPENERS.get(path.suffix.lower())
    if opener:
        return opener(path, "wt", encoding="utf-8")
    return open(path, "w", encoding="utf-8")  # noqa: SIM115 - caller closes
