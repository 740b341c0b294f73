"""interlingua: train, evaluate and deploy language-agnostic sentence embeddings."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("interlingua")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
