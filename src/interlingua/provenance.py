"""What makes a recorded result reproducible: when it was made, with which package versions, from
which file bytes.

Every record this toolkit writes (training summary, evaluation result, mining summary, shard index,
export record) takes its time stamp, versions and file hashes from here, so that they read the same
everywhere.  Two runs with equal hashes and settings must give equal numbers; a changed file shows
up as a changed hash rather than as an unexplained difference.  Hashes are computed from the bytes
each time (:func:`interlingua.atomic.sha256_file`): a cache by path would be wrong for a file that
changes.
"""

from __future__ import annotations

import contextlib
import datetime
import platform
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from interlingua import __version__
from interlingua.atomic import sha256_file

# The libraries that can change an embedding or a score.
PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "sentence-transformers", "transformers")


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def package_versions(*extra: str) -> dict[str, str]:
    """Versions of interlingua, Python, :data:`PACKAGES` and ``extra`` (those installed)."""
    versions = {"interlingua": __version__, "python": platform.python_version()}
    for package in (*PACKAGES, *extra):
        with contextlib.suppress(PackageNotFoundError):
            versions[package] = version(package)
    return versions


def file_record(path: Path) -> dict[str, Any]:
    """An input file as a record names it: absolute path, size and SHA-256."""
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


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
