"""What the loss engine passes between an objective's parts: a batch, a per-example term, and the
columns as the in-batch terms see them.  Both ways of running a loss read these: the plain pass
(:mod:`interlingua.losses.engine`) and the GradCache pass (:mod:`interlingua.losses.gradcache`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from interlingua.losses.encoding import EncodedColumn


@dataclass
class Batch:
    """One batch as the loss sees it: the text columns (after any corruption) and per-row extras."""

    features: list[dict[str, Any]]
    labels: Tensor | None = None
    rows: dict[str, Tensor] = field(default_factory=dict)  # per-row tensors, e.g. which piece UGT masked

    def __len__(self) -> int:
        return int(self.features[0]["input_ids"].shape[0])

    def slice(self, begin: int, end: int) -> Batch:
        """Rows ``begin:end`` of every column, label and extra."""
        size = len(self)

        def cut(value: Any) -> Any:
            if isinstance(value, Tensor) and value.ndim >= 1 and value.shape[0] == size:
                return value[begin:end]
            return value

        return Batch(
            features=[{key: cut(value) for key, value in column.items()} for column in self.features],
            labels=cut(self.labels),
            rows={key: value[begin:end] for key, value in self.rows.items()},
        )


@dataclass
class RowTerm:
    """A per-example term on some rows: its (already weighted) mean, and how many items it averages."""

    value: Tensor
    items: Tensor | int


def item_count(items: Tensor | int, like: Tensor) -> Tensor:
    """``items`` as a float64 scalar on ``like``'s device (exact for any realistic count)."""
    return torch.as_tensor(items, dtype=torch.float64, device=like.device).detach().reshape(())


COLUMNS = ("source", "target", "hard_negative")  # the text columns, in order, as vectors name them


def batch_columns(batch: Batch, vectors: Mapping[str, Tensor]) -> dict[str, EncodedColumn]:
    """The batch's columns as the in-batch terms see them: token ids, and the cached sentence vectors
    (``vectors["source"]`` etc.) as ``sentence_embedding``; no token states."""
    return {
        name: EncodedColumn(column["input_ids"], column["attention_mask"], None, vectors.get(name))
        for name, column in zip(COLUMNS, batch.features, strict=False)
    }


def ordered(losses: Mapping[str, Tensor], names: Iterable[str]) -> dict[str, Tensor]:
    """``losses`` in the order of ``names`` (then any others)."""
    names = [name for name in names if name in losses]
    return {**{name: losses[name] for name in names}, **losses}
