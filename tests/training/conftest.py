"""Fixtures of the training tests."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Training tests run on one thread: as fast on a shared machine, and never oversubscribed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
