"""Negatives gathered across processes: every process's queries are ranked against all candidates.

In a run of N processes (``torchrun`` / ``accelerate launch``, DDP) each process embeds its own
b pairs.  Without gathering, a query is ranked against the b candidates of its process only.  With
``gather_negatives``, the candidate rows of all processes are gathered (in rank order), so a query
of process r is ranked against N b candidates; its positive is row ``offset + i`` of the gathered
matrix, ``offset`` being the number of rows of the processes before r.

Gradients.  The gather is differentiable: its backward sums over the processes the gradient that
each one's loss sends to a candidate row, and hands every process the part for the rows it owns.
DDP then averages the parameter gradients over the N processes.  For the result to be the gradient
of the one-process loss on the concatenated batch, L = (1/N) sum_r L_r, each process's loss must be
N times its share of L.  For a mean over queries, that is ``N * (sum of this process's query losses)
/ (queries of all processes)``, which :meth:`Peers.mean` computes (the plain mean when every
process has the same number of queries); a sum over queries is multiplied by N.

Only the in-batch terms gather; per-example terms (XTR, RTL, MLM) stay local, normalised over the
items of all processes by the loss engine (:mod:`interlingua.losses.engine`).

Reference: the cross-accelerator negative sampling of LaBSE (Feng et al. 2022, arXiv 2007.01852).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor


def distributed_world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside a multi-process run."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _shapes(tensor: Tensor) -> list[tuple[int, ...]]:
    """The shape of ``tensor`` on every process (same number of dimensions everywhere)."""
    shape = torch.tensor(tensor.shape, dtype=torch.long, device=tensor.device)
    shapes = [torch.empty_like(shape) for _ in range(dist.get_world_size())]
    dist.all_gather(shapes, shape)
    return [tuple(int(size) for size in s.tolist()) for s in shapes]


def _pad_to(tensor: Tensor, shape: tuple[int, ...], value: float) -> Tensor:
    padding: list[int] = []
    for have, want in zip(reversed(tensor.shape), reversed(shape), strict=True):
        padding += [0, want - have]
    return F.pad(tensor, padding, value=value) if any(padding) else tensor


def _all_gather_padded(tensor: Tensor, shapes: list[tuple[int, ...]], value: float) -> list[Tensor]:
    """Every process's ``tensor``, each padded to the largest shape for the collective, then cut back."""
    largest = tuple(max(sizes) for sizes in zip(*shapes, strict=True))
    padded = _pad_to(tensor.contiguous(), largest, value)
    parts = [torch.empty_like(padded) for _ in shapes]
    dist.all_gather(parts, padded)
    return [part[tuple(slice(0, size) for size in shape)] for part, shape in zip(parts, shapes, strict=True)]


class _GatherRows(torch.autograd.Function):
    """All processes' rows, concatenated in rank order; backward: the summed gradient of our rows."""

    @staticmethod
    def forward(ctx, tensor: Tensor, shapes: list[tuple[int, ...]], rank: int) -> Tensor:
        ctx.start = sum(shape[0] for shape in shapes[:rank])
        ctx.rows = shapes[rank][0]
        return torch.cat(_all_gather_padded(tensor, shapes, 0.0))

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        # Every process's loss scored our rows: their gradients add up (the loss is a sum over processes).
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.start : ctx.start + ctx.rows], None, None


class Peers:
    """The processes whose candidates a query is ranked against: this one alone unless gathering.

    ``gather`` asks for gathering; it happens only in a multi-process run.  Every method is a
    collective when it gathers: all processes must call the same methods in the same order, also
    when they hold no rows.
    """

    def __init__(self, gather: bool = False) -> None:
        self.rank, self.world = distributed_world()
        self.distributed = self.world > 1
        self.gathering = gather and self.distributed

    def all_rows(self, tensor: Tensor) -> tuple[Tensor, int]:
        """(every process's rows of ``tensor`` in rank order, the index of our first row there)."""
        if not self.gathering:
            return tensor, 0
        shapes = _shapes(tensor)
        start = sum(shape[0] for shape in shapes[: self.rank])
        return _GatherRows.apply(tensor, shapes, self.rank), start

    def all_ids(self, ids: Tensor, padding: int = -1) -> Tensor:
        """Every process's token-id rows (no gradient), padded with ``padding`` to a common width."""
        if not self.gathering:
            return ids
        shapes = _shapes(ids)
        width = max(shape[1] for shape in shapes)
        parts = _all_gather_padded(ids, shapes, padding)
        return torch.cat([_pad_to(part, (part.shape[0], width), padding) for part in parts])

    def total(self, values: Tensor) -> Tensor:
        """``values`` summed over the processes (no gradient); themselves in a single process."""
        if not self.distributed:
            return values
        values = values.detach().clone()
        dist.all_reduce(values)
        return values

    def mean(self, losses: Tensor) -> Tensor:
        """This process's share of the mean of per-query ``losses`` over all processes, times N."""
        if not self.gathering:
            return losses.mean()
        queries = self.total(torch.tensor(float(len(losses)), device=losses.device))
        return losses.sum() * self.world / queries.clamp_min(1.0)

    def scale_sum(self, loss: Tensor) -> Tensor:
        """A loss that sums over this process's queries, times N (see the module docstring)."""
        return loss * self.world if self.gathering else loss


LOCAL = Peers(gather=False)  # for losses called outside training: no process group, no gathering
