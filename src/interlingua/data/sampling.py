"""Which pairs go into which batch: temperature sampling across corpora, length buckets within.

Temperature sampling (Arivazhagan et al. 2019; EMS uses T = 5): corpus l with n_l pairs is drawn
with probability p_l = q_l^(1/T) / sum_k q_k^(1/T), q_l = n_l / sum_k n_k.  T = 1 keeps the natural
proportions, larger T flattens them towards uniform, so small languages are up-sampled.

Length bucketing: real sentences are short (about 12 pieces) but a random batch pads to its
longest member, so most of the work would be padding (MEASURED.md: 76%).  Each epoch's indices are
shuffled, cut into pools of ``pool_batches`` batches, each pool is sorted by length and cut into
batches, and the batches are shuffled again, so that batches are mixed in language and position in
the epoch but homogeneous in length.

Everything is a pure function of (seed, epoch): a resumed run sees the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sentence_transformers.base.sampler import DefaultBatchSampler


def temperature_probabilities(sizes: Sequence[int], temperature: float) -> np.ndarray:
    """Sampling probability of each corpus for temperature ``temperature``."""
    sizes = np.asarray(sizes, dtype=np.float64)
    if temperature <= 0:
        raise ValueError(f"sampling temperature must be positive, got {temperature}")
    weights = (sizes / sizes.sum()) ** (1.0 / temperature)
    return weights / weights.sum()


def epoch_indices(corpus_sizes: Sequence[int], temperature: float, rng: np.random.Generator) -> np.ndarray:
    """One epoch's dataset rows: as many draws as there are pairs, split between corpora by
    temperature; a corpus is read without repeats up to its size, then cycles."""
    total = int(sum(corpus_sizes))
    quotas = np.round(temperature_probabilities(corpus_sizes, temperature) * total).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(corpus_sizes)[:-1]])
    parts = []
    for size, offset, quota in zip(corpus_sizes, offsets, quotas, strict=True):
        repeats = -(-quota // size)  # ceil: enough shuffled passes to cover the quota
        rows = np.concatenate([rng.permutation(size) for _ in range(max(repeats, 1))])[:quota]
        parts.append(rows + offset)
    return np.concatenate(parts)


def length_bucketed_batches(
    indices: np.ndarray, lengths: np.ndarray, batch_size: int, pool_batches: int, rng: np.random.Generator
) -> list[list[int]]:
    """Cut shuffled ``indices`` into batches of similar ``lengths``; batch order shuffled."""
    indices = rng.permutation(indices)
    pool = batch_size * pool_batches
    batches: list[list[int]] = []
    for start in range(0, len(indices), pool):
        chunk = indices[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


class TemperatureBucketBatchSampler(DefaultBatchSampler):
    """A sentence-transformers batch sampler combining both rules above.

    ``corpus_sizes`` are the sizes of the consecutive corpora the dataset concatenates;
    ``lengths`` the length (in pieces) of each row, e.g. its longer side.  Pass it to the trainer
    as ``functools.partial(TemperatureBucketBatchSampler, corpus_sizes=..., lengths=...)``.
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator=None,
        seed: int = 0,
        *,
        corpus_sizes: Sequence[int],
        lengths: Sequence[int],
        temperature: float = 1.0,
        pool_batches: int = 64,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        if sum(corpus_sizes) != len(dataset) or len(lengths) != len(dataset):
            raise ValueError("corpus sizes and lengths must cover the dataset exactly")
        self.corpus_sizes = list(corpus_sizes)
        self.lengths = np.asarray(lengths)
        self.temperature = temperature
        self.pool_batches = pool_batches

    def _batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        indices = epoch_indices(self.corpus_sizes, self.temperature, rng)
        batches = length_bucketed_batches(indices, self.lengths, self.batch_size, self.pool_batches, rng)
        if self.drop_last:
            batches = [batch for batch in batches if len(batch) == self.batch_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        draws = int(
            np.round(temperature_probabilities(self.corpus_sizes, self.temperature) * len(self.lengths)).sum()
        )
        return draws // self.batch_size if self.drop_last else -(-draws // self.batch_size)
