import numpy as np
import pytest

from interlingua.data.sampling import (
    TemperatureBucketBatchSampler,
    epoch_indices,
    length_bucketed_batches,
    temperature_probabilities,
)


def test_temperature_probabilities_by_hand():
    # sizes 900 and 100: q = (0.9, 0.1); T = 1 keeps them, T = 2 -> sqrt: 0.9487, 0.3162 -> 0.75, 0.25
    assert temperature_probabilities([900, 100], 1.0) == pytest.approx([0.9, 0.1])
    assert temperature_probabilities([900, 100], 2.0) == pytest.approx([0.75, 0.25], abs=1e-4)
    assert temperature_probabilities([900, 100], 1e6) == pytest.approx([0.5, 0.5], abs=1e-4)


def test_epoch_indices_upsamples_small_corpus():
    rng = np.random.default_rng(0)
    rows = epoch_indices([900, 100], 2.0, rng)
    assert len(rows) == 1000
    small = rows[rows >= 900]
    assert len(small) == 250  # quota 0.25 * 1000, so the 100 pairs are cycled 2.5 times
    assert set(small.tolist()) == set(range(900, 1000))


def test_batches_are_length_homogeneous_and_complete():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 60, size=4096)
    batches = length_bucketed_batches(np.arange(4096), lengths, batch_size=32, pool_batches=16, rng=rng)
    assert sorted(i for batch in batches for i in batch) == list(range(4096))
    spread = np.mean([np.ptp(lengths[batch]) for batch in batches])
    random_spread = np.mean([np.ptp(lengths[rng.choice(4096, 32)]) for _ in range(100)])
    assert spread < random_spread / 4


def test_sampler_is_deterministic_per_epoch():
    lengths = np.arange(300) % 17
    make = lambda: TemperatureBucketBatchSampler(  # noqa: E731
        list(range(300)), 16, True, seed=3, corpus_sizes=[200, 100], lengths=lengths, temperature=5.0
    )
    first, second = make(), make()
    assert list(first) == list(second)
    second.set_epoch(1)
    assert list(first) != list(second)
    assert len(list(first)) == len(first)
    assert all(len(batch) == 16 for batch in first)
