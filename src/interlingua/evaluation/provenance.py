"""Where evaluation data lives, and the fingerprints that make a result reproducible.

Every result file records the model (path and a SHA-256 over its files), each data file read (path
relative to the data root, and the SHA-256 of its bytes as stored, compressed or not), every setting,
the package versions and the date.  Two runs with equal fingerprints and settings must give equal
numbers; a changed file shows up as a changed hash rather than as an unexplained difference.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import platform
from collections.abc import Iterable
from pathlib import Path

from interlingua.errors import ConfigError

_HASH_CHUNK = 1 << 20


def task_folder(data_root: Path, name: str) -> Path:
    """A benchmark's folder under the data root, or a ``ConfigError`` naming what is missing."""
    folder = data_root / name
    if not folder.is_dir():
        raise ConfigError(f"{folder}: benchmark folder not found under the data root {data_root}")
    return folder


@functools.lru_cache(maxsize=4096)
def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, as stored (a compressed file is hashed compressed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def data_file_hashes(data_root: Path, paths: Iterable[Path]) -> dict[str, str]:
    """``{path relative to the data root: sha256}`` for the data files a task read, sorted by path."""
    hashes = {}
    for path in paths:
        try:
            relative = path.resolve().relative_to(data_root.resolve()).as_posix()
        except ValueError:
            relative = str(path)
        hashes[relative] = sha256_file(path.resolve())
    return dict(sorted(hashes.items()))


def package_versions() -> dict[str, str]:
    """Versions of interlingua and of the libraries that can change an embedding or a score."""
    from importlib.metadata import PackageNotFoundError, version

    from interlingua import __version__

    versions = {"interlingua": __version__, "python": platform.python_version()}
    for package in ("numpy", "scipy", "scikit-learn", "torch", "sentence-transformers", "transformers"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
