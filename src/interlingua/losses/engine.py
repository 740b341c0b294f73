"""The loss engine: every objective split into per-example and in-batch parts, run one way for all.

An objective of this toolkit is a sum of two kinds of terms over one encoder pass:

* per-example terms (XTR, UGT, RTL, MLM, distillation): each pair's loss depends on that pair
  alone, and the term is a mean over its items (pairs, or target pieces for RTL, masked positions
  for MLM);
* in-batch terms (translation ranking, ALIGN, SIM, the EMS contrastive loss, InfoNCE / CZ-NCE):
  each pair is scored against the other pairs of the batch, through a few vectors per pair.

``SplitLoss`` is the base class that states an objective in those parts::

    prepare(features, labels)        -> Batch     corruption drawn once for the whole batch (UGT, MLM)
    encode(batch)                    -> encoded   the encoder pass (any rows of the batch)
    row_vectors(batch, encoded)      -> {name: (rows, d)}   what the in-batch terms read
    row_terms(batch, encoded)        -> {name: RowTerm(mean, items)}
    batch_terms(batch, vectors, peers) -> {name: loss}

and its ``forward`` runs them.  Plain: one pass over the whole batch.  With ``cache_chunk_size``
set and a larger batch: the GradCache pass of :mod:`interlingua.losses.gradcache`, which encodes
the batch in chunks and gives the same loss and gradients in memory bounded by the chunk.  With
``gather_negatives`` in a multi-process run, the in-batch terms rank each query against the
candidates of every process (:mod:`interlingua.losses.gather`).  So there is one implementation of
each objective and one engine, whichever way it runs: no cached copy of any loss to drift apart.

A per-example term is weighted by its share of the items of the whole batch (of all processes, in a
multi-process run): chunk c, holding n_c of the N items, adds ``mean_c * n_c / N``, so that the
sum over chunks is the mean over the batch.  In a multi-process run each process adds
``world * mean * n / N`` (see :mod:`interlingua.losses.gather` for why ``world``).

Components come back in the order of ``components``, already weighted, with the same names and
values whichever way the loss ran, so that the log does not depend on how it was computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from interlingua.errors import ConfigError
from interlingua.losses.batch import Batch, RowTerm, item_count, ordered
from interlingua.losses.encoding import encode_columns, padded
from interlingua.losses.gather import Peers
from interlingua.losses.gradcache import cached_forward

# The attribute that holds a loss's encoder: its tensors are the model's; every other tensor of the
# loss module belongs to a training-only head, saved beside the model and never exported.
ENCODER = "model"


class SplitLoss(nn.Module):
    """Base class of the toolkit's objectives (see the module docstring).

    Subclasses set ``model`` and ``components`` and override the parts they have; the defaults encode
    the columns in one merged forward pass and contribute nothing.
    """

    model: SentenceTransformer
    components: tuple[str, ...] = ()
    hidden_states: bool = False  # whether encode() asks for every layer's states (ML-CTL)

    def __init__(self) -> None:
        super().__init__()
        self.cache_chunk_size: int | None = None
        self.gather_negatives = False

    def configure(self, *, cache_chunk_size: int | None = None, gather_negatives: bool = False) -> None:
        """How to run: GradCache chunks of ``cache_chunk_size`` pairs (None: off), negatives gathered
        across processes (a no-op in a single process)."""
        whole = isinstance(cache_chunk_size, int) and not isinstance(cache_chunk_size, bool)
        if cache_chunk_size is not None and (not whole or cache_chunk_size < 1):
            raise ConfigError(f"cache_chunk_size must be a positive number of pairs, not {cache_chunk_size}")
        self.cache_chunk_size = cache_chunk_size
        self.gather_negatives = bool(gather_negatives)

    # The parts of an objective -------------------------------------------------------------------

    def prepare(self, features: list[dict[str, Any]], labels: Tensor | None) -> Batch:
        """Corruption and anything else drawn once for the whole batch, before it is chunked."""
        return Batch([padded(dict(column)) for column in features], labels)

    def encode(self, batch: Batch) -> Any:
        """The encoder pass over (some rows of) the batch; by default one ``EncodedColumn`` per column."""
        return encode_columns(self.model, batch.features, hidden_states=self.hidden_states)

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        """Per-row vectors (first dimension: rows, or samples) that the in-batch terms read."""
        return {}

    def row_terms(self, batch: Batch, encoded: Any) -> dict[str, RowTerm]:
        """The per-example terms on these rows."""
        return {}

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        """The in-batch terms, from the vectors of the whole (local) batch."""
        return {}

    def negatives_per_query(self, pool: int) -> int | None:
        """Negatives each query is ranked against when ``pool`` pairs share their candidates
        (None: the objective has no in-batch term)."""
        return None

    # Its training-only heads --------------------------------------------------------------------

    def head_state(self) -> dict[str, Tensor]:
        """The loss module's own tensors (training-only heads), without the encoder it wraps."""
        return {key: value for key, value in self.state_dict().items() if not _in_encoder(key)}

    def head_parameters(self) -> list[nn.Parameter]:
        """The heads' trainable tensors, without the encoder's."""
        return [p for name, p in self.named_parameters() if not _in_encoder(name) and p.requires_grad]

    def load_head_state(self, state: Mapping[str, Tensor], source: str) -> None:
        """Restore the heads from ``state`` (read from ``source``), which must be this objective's."""
        missing, unexpected = self.load_state_dict(dict(state), strict=False)
        if unexpected or any(not _in_encoder(key) for key in missing):
            raise ConfigError(f"{source}: training heads do not match this objective")

    # Running them ---------------------------------------------------------------------------------

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        batch = self.prepare(list(sentence_features), labels)
        peers = Peers(self.gather_negatives)
        if self.cache_chunk_size is not None and len(batch) > self.cache_chunk_size:
            return cached_forward(self, batch, peers, self.cache_chunk_size)
        encoded = self.encode(batch)
        terms = self.row_terms(batch, encoded)
        losses = {name: term.value for name, term in terms.items()}
        if peers.distributed and terms:
            local = torch.stack([item_count(term.items, term.value) for term in terms.values()])
            shares = local * peers.world / peers.total(local).clamp_min(1.0)
            losses = {
                name: value * share.to(value.dtype)
                for (name, value), share in zip(losses.items(), shares, strict=True)
            }
        vectors = self.row_vectors(batch, encoded)
        losses.update(self.batch_terms(batch, vectors, peers))
        return ordered(losses, self.components)


def _in_encoder(key: str) -> bool:
    return key.startswith(ENCODER + ".")
