"""Reading text files: plain, gzip or xz, strict UTF-8, errors that name the file and line.

Normalisations (documented, applied silently): a UTF-8 byte-order mark at the start of a file is
dropped, and a line ending of CRLF or LF is removed.  Everything else that is not valid text is an
error (``DataError``) naming the file, the 1-based line and the problem.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from interlingua.errors import DataError

_OPENERS = {".xz": lzma.open, ".lzma": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}
_BOM = b"\xef\xbb\xbf"


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file for reading bytes, decompressing by its suffix (.xz, .gz, .bz2)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a regular file")
    opener = _OPENERS.get(path.suffix.lower())
    return opener(path, "rb") if opener else open(path, "rb")  # noqa: SIM115 - caller closes


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line, 1-based, without the line ending."""
    try:
        with open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                if raw.endswith(b"\n"):
                    raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise DataError(
                        path, f"invalid UTF-8 at byte {error.start} of the line ({raw[:40]!r}...)", number
                    ) from None
                if "\x00" in text:
                    raise DataError(path, "NUL byte in line (is this a binary file?)", number)
                yield number, text
    except (EOFError, lzma.LZMAError, gzip.BadGzipFile, OSError) as error:
        if isinstance(error, DataError):
            raise
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
