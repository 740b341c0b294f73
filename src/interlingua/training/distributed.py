"""Multi-process training (DDP through ``torchrun`` / ``accelerate launch``): what the Trainer leaves to us.

The Hugging Face Trainer reads the launcher's environment (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ...), starts the process group (gloo on CPUs, NCCL on GPUs), wraps the encoder
in DDP and averages its gradients.  It does not know about three things of this toolkit:

* the batch: ``batch_size`` is the batch of one optimiser step, split evenly over the processes
  (``split_batches``), so that a recipe means the same on 1 or 8 GPUs, and with
  ``gather_negatives`` its N processes x b pairs give the gradient of one process with N b pairs
  (a stream, ``data/streaming.py``, gives each process batches of its own of ``batch_size``);
* the training-only heads (projection, ranking layer, RTL, XTR, MLM heads): they live on the loss
  module, outside DDP, so their gradients are averaged here, and their initial values broadcast;
* decisions every process must take together: stop at the budget, stop or skip at a NaN loss.

Only the main process writes the output folder (config, tokenizer, log, progress bar, final model,
summary, evaluation); every process writes its own RNG state into checkpoints.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from accelerate import PartialState
from torch import nn

from interlingua.errors import ConfigError
from interlingua.losses.engine import SplitLoss


def process_state() -> PartialState:
    """This process's place in the run (starts the process group under a launcher)."""
    return PartialState(cpu=not torch.cuda.is_available())


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def per_process_batch(batch_size: int, processes: int) -> int:
    """The pairs each process gets of a ``batch_size`` batch; it must split evenly."""
    if batch_size % processes:
        raise ConfigError(
            f"batch_size {batch_size} does not split evenly over {processes} processes: "
            f"pick a multiple of {processes}"
        )
    return batch_size // processes


def negatives_summary(
    loss: nn.Module, batch_size: int, processes: int, gather: bool, split: bool = True
) -> dict:
    """How many negatives each query really has: the record for ``training_summary.json``.
    ``split``: the processes share batches of ``batch_size`` (else each has batches of its own)."""
    per_process = per_process_batch(batch_size, processes) if split else batch_size
    gathered = gather and processes > 1
    pool = per_process * processes if gathered else per_process
    counter = getattr(loss, "negatives_per_query", None)
    return {
        "processes": processes,
        "pairs_per_process": per_process,
        "gather_negatives": gathered,
        "negatives_per_query": counter(pool) if counter is not None else None,
    }


def negatives_line(summary: dict) -> str:
    """The one line the run prints at its start about its negatives."""
    processes, per_process = summary["processes"], summary["pairs_per_process"]
    split = f"{processes} processes x {per_process} pairs" if processes > 1 else "1 process"
    if summary["negatives_per_query"] is None:
        return f"batch {processes * per_process} pairs ({split}); the objective has no in-batch negatives"
    where = (
        "gathered across processes"
        if summary["gather_negatives"]
        else ("per process, not gathered" if processes > 1 else "in-batch")
    )
    return (
        f"effective negatives per query: {summary['negatives_per_query']} ({where}; batch "
        f"{processes * per_process} pairs = {split}; a pair repeating the query's sentences is not counted "
        "against it)"
    )


def broadcast_heads(loss: SplitLoss) -> None:
    """Every process starts from the main process's heads (DDP does this for the encoder)."""
    if not distributed():
        return
    with torch.no_grad():
        for parameter in loss.head_parameters():
            dist.broadcast(parameter.data, src=0)


def average_head_gradients(loss: SplitLoss) -> None:
    """Average the heads' gradients over the processes, as DDP does for the encoder's."""
    parameters = loss.head_parameters()
    if not distributed() or not parameters:
        return
    # A head that took no part in this process's loss has no gradient: it contributes zeros.
    gradients = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    flat = torch.cat([gradient.reshape(-1) for gradient in gradients])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    start = 0
    for parameter in parameters:
        part = flat[start : start + parameter.numel()].view_as(parameter)
        start += parameter.numel()
        if parameter.grad is None:
            parameter.grad = part.clone()
        else:
            parameter.grad.copy_(part)


def any_process(flag: bool, device: torch.device | str) -> bool:
    """Whether ``flag`` holds in any process (itself in a single process)."""
    if not distributed():
        return flag
    value = torch.tensor(float(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
