"""Outputs that are complete or absent, and fingerprints of what a result was made from.

Every file the toolkit writes goes through ``atomic_file`` (or a helper built on it): the bytes go
to a temporary file beside the target, are flushed to disk, and only then replace the target with
``os.replace``, which is atomic.  A failed write (disk full, file-size limit, quota, permissions)
removes the temporary file and leaves the previous output as it was, and raises ``StorageError``
naming the file and the cause instead of the library's traceback.

``check_output_file`` / ``check_output_folder`` find output-path mistakes (a missing folder, a
folder where a file is expected, a path under a file) before any work is done.

``sha256_file`` and ``folder_fingerprint`` identify content, not names: a cached stage keyed by a
model's fingerprint is recomputed when the folder's files change, whatever its path.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from interlingua.errors import ConfigError, StorageError

# The errors of a write that the user must fix on their side (space, quota, permissions, device,
# a file-size limit).
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}
)
TEMPORARY_MARK = ".tmp-"


def _temporary(path: Path) -> Path:
    # Hidden, in the same folder (os.replace cannot cross file systems), unique per writer, and
    # ending as the target does: writers choose the format or compression by suffix.
    return path.with_name(f".{path.name}{TEMPORARY_MARK}{uuid.uuid4().hex[:8]}{path.suffix}")


def sync(path: Path) -> None:
    """Flush a file or folder to the disk, so that a power cut cannot undo a completed write."""
    if path.is_dir() and os.name != "posix":
        return  # only POSIX systems can open (and so flush) a folder
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def storage_error(path: Path, error: BaseException) -> StorageError:
    """The one-line error of a failed write of ``path``."""
    cause = f"[Errno {error.errno}] {error.strerror}" if isinstance(error, OSError) and error.errno else error
    return StorageError(f"cannot write {path}: {cause}; any previous {path.name} is unchanged")


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is removed.

    Any exception inside the block (``KeyboardInterrupt`` too) leaves ``path`` as it was.  Write
    errors (``OSError``, and the ``RuntimeError`` / ``SafetensorError`` that torch and safetensors
    raise for them) become ``StorageError``."""
    path = Path(path)
    temporary = _temporary(path)
    try:
        yield temporary
        sync(temporary)
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if _is_write_error(error):
            raise storage_error(path, error) from error
        raise


def _is_write_error(error: BaseException) -> bool:
    if isinstance(error, OSError):  # inside the block, any OSError is one of writing the file
        return True
    return type(error).__name__ == "SafetensorError" or (
        isinstance(error, RuntimeError) and "write" in str(error).lower()
    )


def write_text(path: str | Path, text: str) -> Path:
    with atomic_file(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, payload: Any, **dumps: Any) -> Path:
    """``payload`` as UTF-8 JSON (``dumps``: ``json.dumps`` options; default indent 2), atomically."""
    options = {"indent": 2, "ensure_ascii": False, **dumps}
    return write_text(path, json.dumps(payload, **options) + "\n")


def save_npy(path: str | Path, array: np.ndarray) -> Path:
    """``array`` as ``.npy`` at exactly ``path`` (``np.save`` given a name would append ``.npy``)."""
    with atomic_file(path) as temporary, open(temporary, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
    return Path(path)


def write_with(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Let ``writer(temporary_path)`` write the file (a plot, a library's own saver), atomically."""
    with atomic_file(path) as temporary:
        writer(temporary)
    return Path(path)


@contextmanager
def staged_folder(path: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on success its files are moved into ``path``.

    Each file replaces its namesake atomically, and nothing in ``path`` is touched before the whole
    content was written: a failure removes the staging folder and leaves ``path`` as it was."""
    path = Path(path)
    staging = _temporary(path)
    try:
        staging.mkdir(parents=True)
        yield staging
        path.mkdir(parents=True, exist_ok=True)
        for item in sorted(staging.rglob("*")):
            if item.is_file():
                sync(item)
        for item in sorted(staging.iterdir()):
            target = path / item.name
            if target.is_dir() and item.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    except BaseException as error:
        if _is_write_error(error):
            raise storage_error(path, error) from error
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _refuse_file_ancestor(path: Path, option: str) -> None:
    """A ``ConfigError`` when the nearest existing ancestor of ``path`` is a file (``out.txt/model``)."""
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a folder")
            return


def check_output_file(path: str | Path, option: str = "--output") -> Path:
    """``path`` if a file can be written there; else a ``ConfigError`` saying why, before any work."""
    path = Path(path)
    _refuse_file_ancestor(path, option)
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file name")
    if not path.absolute().parent.is_dir():
        raise ConfigError(f"{option} {path}: the folder {path.parent} does not exist")
    return path


def check_output_folder(path: str | Path, option: str = "--output") -> Path:
    """``path`` if it can be (or is) a folder to write into; parents are created when needed."""
    path = Path(path)
    _refuse_file_ancestor(path, option)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: is a file, not a folder")
    return path


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes as stored (a compressed file is hashed compressed), read each time."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def folder_fingerprint(path: str | Path, *, skip: Callable[[Path], bool] = lambda _: False) -> str:
    """SHA-256 of a folder's content: every file's relative path and bytes, in name order.

    Two folders with the same files have the same fingerprint wherever they are; replacing any
    file's content changes it.  ``skip(relative_path)`` leaves files out (checkpoints, logs)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root)
        if skip(relative):
            continue
        digest.update(relative.as_posix().encode("utf-8") + b"\0")
        digest.update(sha256_file(file).encode("ascii") + b"\n")
    return digest.hexdigest()


def model_fingerprint(model: str | Path | None) -> str | None:
    """The fingerprint of a local model, a folder (``folder_fingerprint``) or one file (its SHA-256);
    None for anything else (a hub name, an encoder built in memory)."""
    if model is None:
        return None
    path = Path(model)
    if path.is_file():
        return sha256_file(path)
    return folder_fingerprint(path) if path.is_dir() else None


def read_json(path: str | Path) -> Any | None:
    """The JSON in ``path``; None when the file is missing or not JSON (cut short, garbled)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
