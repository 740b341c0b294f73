"""GradCache: in-batch losses over batches larger than memory, with the plain loss's gradients.

An in-batch loss couples every pair of the batch, so it cannot be split into independent chunks,
but its dependence on the encoder goes through a few vectors per pair (B x d numbers).  GradCache
(Gao, Zhang, Han, Callan, "Scaling Deep Metric Learning Beyond the GPU Memory Limit", RepL4NLP 2021,
arXiv 2101.06983; https://github.com/luyug/GradCache) computes the loss in three steps:

1. encode the batch in chunks of ``cache_chunk_size`` pairs without building a graph, and keep
   each pair's vectors (``SplitLoss.row_vectors``) and the RNG state each chunk started from;
2. compute the in-batch terms on the whole matrix of vectors, with gradient; the backward pass of
   the trainer carries the gradient of the loss with respect to each vector (the "cache");
3. still inside that backward pass, encode each chunk again with gradient, replaying its RNG state
   so that dropout draws the same masks, and back-propagate the cached gradients into the encoder
   through the surrogate ``sum <vector, cached gradient>``.

Steps 1 and 3 are an autograd function: its forward is step 1 and its backward step 3.  So the
loss is an ordinary tensor for the Hugging Face Trainer (``accelerator.backward``, gradient
accumulation and loss scaling reach step 3 through the incoming gradient), and the activations of
one chunk are alive at a time.  The in-batch terms, and the training-only heads they use, are
ordinary autograd code on the vectors.

Per-example terms (XTR, UGT, RTL, MLM, distillation) need no cache: they are computed per chunk,
without gradient in step 1 for the logged value and with gradient in step 3, weighted by the chunk's
share of the batch's items (see :mod:`interlingua.losses.engine`), so the total is the plain loss.

In a DDP run every chunk of step 3 but the last runs under ``no_sync``: the gradients accumulate
locally and are averaged once, with the last chunk's.  Step 3 runs under the autocast settings of
step 1 (the Trainer's ``bf16`` autocast covers the forward pass only, not the backward pass).

The result equals the plain loss up to float rounding: same value, same gradients (with dropout,
the same as the plain loss would give with the masks that were drawn).  The in-batch terms still
hold their B x B score matrices; everything else is bounded by the chunk.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from interlingua.losses.batch import Batch, item_count, ordered
from interlingua.losses.gather import Peers

if TYPE_CHECKING:  # only for annotations: the engine calls this module
    from interlingua.losses.engine import SplitLoss


class RandomState:
    """The CPU (and CUDA) RNG state at one point, to be replayed later (for dropout)."""

    def __init__(self, device: torch.device) -> None:
        self.cpu = torch.get_rng_state()
        self.device = device if device.type == "cuda" else None
        self.cuda = torch.cuda.get_rng_state(device) if self.device is not None else None

    @contextmanager
    def replayed(self):
        """Run the block from this state; the state outside the block is left as it was."""
        with torch.random.fork_rng(devices=[self.device] if self.device is not None else []):
            torch.set_rng_state(self.cpu)
            if self.device is not None:
                torch.cuda.set_rng_state(self.cuda, self.device)
            yield


@dataclass
class _Chunk:
    begin: int
    end: int
    random_state: RandomState
    vector_rows: dict[str, int] = field(default_factory=dict)  # rows of each vector (samples may vary)
    term_values: dict[str, Tensor] = field(default_factory=dict)
    term_items: dict[str, Tensor] = field(default_factory=dict)
    term_weights: dict[str, Tensor] = field(default_factory=dict)


def _device(batch: Batch) -> torch.device:
    return batch.features[0]["input_ids"].device


def _unwrapped(model: Any) -> Any:
    return getattr(model, "_orig_mod", model)


class _CachedPass:
    """Steps 1 and 3 for one batch; ``vector_names`` and ``term_names`` fix the order of outputs."""

    def __init__(self, loss: SplitLoss, batch: Batch, peers: Peers, chunk_size: int) -> None:
        self.loss = loss
        self.batch = batch
        self.peers = peers
        self.bounds = [(b, min(b + chunk_size, len(batch))) for b in range(0, len(batch), chunk_size)]
        self.chunks: list[_Chunk] = []
        self.vector_names: list[str] = []
        self.term_names: list[str] = []
        device_type = _device(batch).type
        self.autocast = {
            "device_type": device_type,
            "enabled": torch.is_autocast_enabled(device_type),
            "dtype": torch.get_autocast_dtype(device_type),
        }

    def _run_chunk(self, chunk: Batch) -> tuple[dict[str, Tensor], dict]:
        encoded = self.loss.encode(chunk)
        return self.loss.row_vectors(chunk, encoded), self.loss.row_terms(chunk, encoded)

    def first_pass(self) -> tuple[Tensor, ...]:
        """Step 1: the vectors of the whole batch and each per-example term's weighted total."""
        device = _device(self.batch)
        vectors: dict[str, list[Tensor]] = {}
        with torch.no_grad():
            for begin, end in self.bounds:
                chunk = _Chunk(begin, end, RandomState(device))
                chunk_vectors, terms = self._run_chunk(self.batch.slice(begin, end))
                for name, vector in chunk_vectors.items():
                    vectors.setdefault(name, []).append(vector.detach())
                    chunk.vector_rows[name] = len(vector)
                for name, term in terms.items():
                    chunk.term_values[name] = term.value.detach()
                    chunk.term_items[name] = item_count(term.items, term.value)
                self.chunks.append(chunk)
        self.vector_names = list(vectors)
        self.term_names = list(self.chunks[0].term_values)
        totals: list[Tensor] = []
        if self.term_names:
            local = torch.stack(
                [torch.stack([c.term_items[name] for c in self.chunks]).sum() for name in self.term_names]
            )
            everywhere = self.peers.total(local).clamp_min(1.0)
            for index, name in enumerate(self.term_names):
                total = None
                for chunk in self.chunks:
                    weight = chunk.term_items[name] * self.peers.world / everywhere[index]
                    chunk.term_weights[name] = weight
                    part = chunk.term_values[name] * weight.to(chunk.term_values[name].dtype)
                    total = part if total is None else total + part
                totals.append(total)
        return (*(torch.cat(vectors[name]) for name in self.vector_names), *totals)

    def second_pass(self, gradients: tuple[Tensor, ...]) -> None:
        """Step 3: re-encode each chunk with gradient and back-propagate its share of ``gradients``."""
        vector_gradients = dict(zip(self.vector_names, gradients[: len(self.vector_names)], strict=True))
        term_gradients = dict(zip(self.term_names, gradients[len(self.vector_names) :], strict=True))
        model = _unwrapped(self.loss.model)
        starts = dict.fromkeys(self.vector_names, 0)
        with torch.enable_grad():
            for index, chunk in enumerate(self.chunks):
                last = index == len(self.chunks) - 1
                # DDP averages the gradients once, with the last chunk's backward pass.
                deferred = isinstance(model, DistributedDataParallel) and not last
                with model.no_sync() if deferred else nullcontext():
                    with chunk.random_state.replayed(), torch.autocast(**self.autocast):
                        vectors, terms = self._run_chunk(self.batch.slice(chunk.begin, chunk.end))
                    surrogate = []
                    for name, vector in vectors.items():
                        rows = chunk.vector_rows[name]
                        if len(vector) != rows:
                            raise RuntimeError(
                                f"GradCache: the second pass gave {len(vector)} rows of {name!r}, "
                                f"the first {rows}"
                            )
                        cached = vector_gradients[name][starts[name] : starts[name] + rows]
                        starts[name] += rows
                        surrogate.append(torch.sum(vector.float() * cached.float()))
                    for name, term in terms.items():
                        weight = chunk.term_weights[name] * term_gradients[name].to(torch.float64)
                        surrogate.append(term.value.float() * weight.float())
                    total = torch.stack(surrogate).sum() if surrogate else None
                    if total is not None and total.requires_grad:
                        total.backward()


class _Replay(torch.autograd.Function):
    """Forward: step 1 (no graph).  Backward: step 3.  ``anchor`` only puts the node in the graph."""

    @staticmethod
    def forward(ctx, cached_pass: _CachedPass, anchor: Tensor) -> tuple[Tensor, ...]:
        ctx.cached_pass = cached_pass
        return cached_pass.first_pass()

    @staticmethod
    def backward(ctx, *gradients: Tensor) -> tuple[None, None]:
        ctx.cached_pass.second_pass(gradients)
        ctx.cached_pass = None  # the batch and the RNG states are not needed any more
        return None, None


def cached_forward(loss: SplitLoss, batch: Batch, peers: Peers, chunk_size: int) -> dict[str, Tensor]:
    """The loss components of ``loss`` on ``batch``, computed with GradCache in chunks of ``chunk_size``."""
    cached_pass = _CachedPass(loss, batch, peers, chunk_size)
    anchor = torch.zeros((), device=_device(batch), requires_grad=torch.is_grad_enabled())
    outputs = _Replay.apply(cached_pass, anchor)
    if isinstance(outputs, Tensor):  # a single output comes back bare
        outputs = (outputs,)
    vectors = dict(zip(cached_pass.vector_names, outputs[: len(cached_pass.vector_names)], strict=True))
    totals = outputs[len(cached_pass.vector_names) :]
    losses = dict(zip(cached_pass.term_names, totals, strict=True))
    losses.update(loss.batch_terms(batch, vectors, peers))
    return ordered(losses, loss.components)
