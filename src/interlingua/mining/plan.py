"""The memory plan of a mining run: block sizes derived from ``--max-memory``.

Every stage streams its data in row blocks; the plan chooses the largest blocks whose estimated
working set, added to the per-sentence arrays that must stay in RAM, fits the budget.  The
estimates count the arrays the pipeline allocates (blocks, their float32 and float64 copies,
k-NN candidates, FAISS index codes); the Python interpreter, the imported libraries and the
encoder model's weights and activations come on top and do not depend on the corpus size.
A budget too small for the corpus is refused before any work, with the minimum it would need.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from interlingua.errors import ConfigError

MIB = 1024 * 1024

# Per sentence of either side, kept in RAM by some stage: neighbourhood means (4 bytes), best
# neighbour and its score (12), line hashes and row maps (16), and in the selection the pooled
# candidate arrays with their sort orders and masks (about 60).
RESIDENT_BYTES_PER_ROW = 96
# FAISS's BLAS tiles (4096 x 1024 float32 = 16 MiB), the pages of one gather chunk (4096 rows),
# progress bars and small temporaries.
SCRATCH_BYTES = 64 * MIB
MIN_BLOCK_ROWS = 64
# Encoding with a model runs at about 100 sentences/s on two cores: shards of 2048 sentences lose
# at most half a minute of work when a run is interrupted, and update the progress bar as often.
MAX_ENCODE_ROWS = 2048
MAX_COPY_ROWS = 1 << 18
# A sentence held as a Python string while its shard is encoded (generous for long lines).
TEXT_BYTES_PER_SENTENCE = 1024

_MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_memory(text: str) -> int:
    """Bytes in a size such as ``4G``, ``512MiB``, ``1.5GB`` or ``1000000`` (binary multiples)."""
    match = _MEMORY_PATTERN.match(str(text))
    if not match:
        raise ConfigError(f"cannot read memory size {text!r}: expected e.g. 4G, 512M, 1.5GiB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_bytes(count: int) -> str:
    return f"{count / MIB:,.0f} MiB" if count < 1024**3 else f"{count / 1024**3:.2f} GiB"


@dataclass(frozen=True)
class IndexFootprint:
    """What a FAISS index costs: bytes per stored vector and bytes independent of their number."""

    bytes_per_vector: int
    fixed_bytes: int
    train_rows: int
    # Transient bytes per vector while it is added: a product quantizer computes a table of
    # M x 256 float distances for every vector of the batch it encodes.
    add_bytes_per_vector: int = 0


@dataclass(frozen=True)
class MiningPlan:
    """Block sizes (in rows) for each streaming stage and the memory they are expected to use."""

    max_memory: int
    embed_rows: int
    query_rows: int
    key_rows: int
    resident_bytes: int
    index_bytes: int
    estimated_peak_bytes: int

    def as_dict(self) -> dict:
        return asdict(self)


def make_plan(
    *,
    src_rows: int,
    tgt_rows: int,
    dim: int,
    k: int,
    max_memory: int,
    storage_bytes: int = 4,
    encoding: bool = False,
    index: IndexFootprint | None = None,
    refine_factor: int = 1,
) -> MiningPlan:
    """Choose block sizes so that the estimated peak stays within ``max_memory`` bytes.

    ``storage_bytes`` is 2 for float16 embeddings on disk, 4 for float32; ``encoding`` says that a
    model encodes the text (shards are then small so that an interruption loses little);
    ``index`` describes the FAISS index, or None for exact blockwise search.
    """
    resident = RESIDENT_BYTES_PER_ROW * (src_rows + tgt_rows)
    most_rows = max(src_rows, tgt_rows, 1)
    candidates = k * (refine_factor if index else 1)
    # A query row: its stored and float32 copies, its candidates (sims and ids, held three times
    # while merging), and for the exact re-scoring their rows in float32 (twice) and float64.
    per_query = dim * (storage_bytes + 12) + candidates * dim * 16 + candidates * 36
    # A key row: its stored and float32 copies, and while it is added to an index FAISS's residuals
    # and the quantizer's distance table.
    per_key = dim * (storage_bytes + 4) + (dim * 8 + index.add_bytes_per_vector if index else 0)
    index_bytes = 0
    if index:
        index_bytes = index.bytes_per_vector * most_rows + index.fixed_bytes
    available = max_memory - resident - SCRATCH_BYTES - index_bytes
    minimum_blocks = MIN_BLOCK_ROWS * (per_query + per_key)
    if available < minimum_blocks:
        needed = max_memory - available + minimum_blocks
        raise ConfigError(
            f"--max-memory {format_bytes(max_memory)} is too small for {src_rows:,} x {tgt_rows:,} "
            f"sentences of dimension {dim}: at least {format_bytes(needed)} is needed"
            + (" (most of it for the FAISS index)" if index_bytes > available else "")
        )
    if index:
        # Training holds the sample (gathered twice) and k-means' assignments.
        train_bytes = index.train_rows * (dim * 8 + 16)
        if train_bytes > max_memory - resident - SCRATCH_BYTES:
            raise ConfigError(
                f"training the index on {index.train_rows:,} vectors needs about "
                f"{format_bytes(train_bytes)}, over --max-memory: lower --train-size or raise --max-memory"
            )
    # Exact search holds a query block and a key block at once; with an index the key blocks
    # are only read while the index is filled, before any query block.
    query_share = available // 2 if not index else available
    query_rows = _clamp(query_share // per_query, most_rows)
    key_rows = _clamp(
        (available - query_rows * per_query) // per_key if not index else available // per_key, most_rows
    )
    # A shard row: the input's mapped pages and float32 copy, its finiteness mask, the normalised
    # copy and the stored one; with a model, the sentence text as well.
    per_embed = dim * (storage_bytes + 13) + (TEXT_BYTES_PER_SENTENCE if encoding else 0)
    embed_rows = min(
        _clamp(available // per_embed, most_rows), MAX_ENCODE_ROWS if encoding else MAX_COPY_ROWS
    )
    blocks = query_rows * per_query + (0 if index else key_rows * per_key)
    peak = resident + SCRATCH_BYTES + index_bytes + max(blocks, embed_rows * per_embed)
    return MiningPlan(
        max_memory=max_memory,
        embed_rows=embed_rows,
        query_rows=query_rows,
        key_rows=key_rows,
        resident_bytes=resident,
        index_bytes=index_bytes,
        estimated_peak_bytes=peak,
    )


def _clamp(rows: int, most_rows: int) -> int:
    return int(max(MIN_BLOCK_ROWS, min(rows, most_rows)))


def check_index_training(index_factory: str | None, dim: int, train_size: int, rows: int) -> None:
    """Refuse, before any work, an index that cannot be trained on ``min(train_size, rows)`` vectors:
    FAISS's k-means needs at least one vector per centroid, that is per inverted list (IVF) and 256
    per product quantizer (PQ), and would stop with its own error after the encoding."""
    if not index_factory:
        return
    import faiss

    index = faiss.index_factory(dim, index_factory, faiss.METRIC_INNER_PRODUCT)
    if index.is_trained:
        return
    ivf = faiss.try_extract_index_ivf(index)
    quantizer = getattr(faiss.downcast_index(ivf if ivf is not None else index), "pq", None)
    needed = max(ivf.nlist if ivf is not None else 1, quantizer.ksub if quantizer is not None else 1)
    available = min(train_size, rows)
    if available < needed:
        raise ConfigError(
            f"--index {index_factory} needs at least {needed:,} vectors to train on, but only {available:,} "
            f"are there (the smaller side{' or --train-size' if train_size < rows else ''}): use a smaller "
            "index, or leave --index out for exact search"
        )
