"""Translation ranking with in-batch negatives (bidirectional, optional additive margin, hard negatives).

Given a batch of B translation pairs (x_i, y_i) embedded as u_i, v_i::

    S_ij = scale * (cos(u_i, v_j) - margin * [i == j])
    L    = ( CE(S, diag) + CE(S^T, diag) ) / 2          (bidirectional)
    L    =   CE(S, diag)                                (x -> y only)

``scale`` is the inverse temperature (20 = tau 0.05, the DAP code's value); ``margin`` is LaBSE's
additive margin (0.3 in the paper, 0 turns it off).  Pair j is not used as a negative for pair i
when it repeats i's source or target sentence (same token ids): scoring a true translation as a
negative would teach the model to separate identical sentences.

Hard negatives (an optional third column h_i, a wrong translation of x_i, as in sentence-transformers'
MultipleNegativesRankingLoss): every h_j joins the candidates of the x -> y direction, so that a
query has 2B - 1 negatives; a hard negative that repeats a query's own translation is not its
negative.  The y -> x direction ranks the sources only.

With negatives gathered across processes (:mod:`interlingua.losses.gather`), the candidates are
those of every process (N B of them, the positive of local query i at row ``offset + i``), and the
duplicate rule holds across processes.

References: Guo et al. 2018 (translation ranking), Yang et al. 2019 (bidirectional, additive
margin), Feng et al. 2022 (LaBSE, arXiv 2007.01852).

Inputs: two text columns (source, translation), or three (source, translation, hard negative);
no label.
Returns: ``{"translation_ranking": loss}``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import Tensor

from interlingua.losses.batch import COLUMNS, Batch, batch_columns
from interlingua.losses.encoding import EncodedColumn
from interlingua.losses.engine import SplitLoss
from interlingua.losses.gather import LOCAL, Peers


def masked_ids(input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    """Token ids with padding set to -1, so that two rows are equal exactly when their sentences are."""
    return input_ids.masked_fill(attention_mask == 0, -1)


def same_sentences(rows: Tensor, candidates: Tensor) -> Tensor:
    """(R, C) bool: row i of ``rows`` and row j of ``candidates`` (ids from :func:`masked_ids`, any
    widths) hold the same sentence.

    Rows are compared through their index among the distinct rows (``torch.unique``): exact, and
    O((R + C) L) memory instead of the O(R C L) of a broadcast comparison (1 GB at 4096 x 4096 x 64).
    """
    width = max(rows.shape[1], candidates.shape[1])
    stacked = torch.cat([F.pad(part, (0, width - part.shape[1]), value=-1) for part in (rows, candidates)])
    groups = torch.unique(stacked, dim=0, return_inverse=True)[1]
    return groups[: len(rows), None] == groups[None, len(rows) :]


def same_rows(input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    """(B, B) boolean matrix: True where two padded token-id rows hold the same sentence."""
    ids = masked_ids(input_ids, attention_mask)
    return same_sentences(ids, ids)


def duplicate_pairs(source: EncodedColumn, target: EncodedColumn, peers: Peers = LOCAL) -> Tensor:
    """(b, N) bool: local pair i and pair j of all processes repeat a source or a target sentence."""
    duplicates = None
    for column in (source, target):
        ids = masked_ids(column.input_ids, column.attention_mask)
        same = same_sentences(ids, peers.all_ids(ids))
        duplicates = same if duplicates is None else duplicates | same
    return duplicates


def ranking_cross_entropy(
    scores: Tensor,
    offset: int = 0,
    *,
    scale: float = 1.0,
    margin: float = 0.0,
    excluded: Tensor | None = None,
    peers: Peers = LOCAL,
) -> Tensor:
    """Cross-entropy of each query's positive, column ``offset + i`` of its row of ``scores`` (b, C).

    The margin is subtracted from the positive before scaling; ``excluded`` (b, C) marks candidates
    that are not negatives (the positive itself is never excluded).  The mean is over the queries
    of all processes (:meth:`Peers.mean`).
    """
    rows = torch.arange(len(scores), device=scores.device)
    positives = rows + offset
    if margin:
        scores = scores.index_put((rows, positives), scores.new_tensor(-margin), accumulate=True)
    if scale != 1.0:
        scores = scores * scale
    if excluded is not None:
        excluded = excluded.clone()
        excluded[rows, positives] = False
        scores = scores.masked_fill(excluded, float("-inf"))
    return peers.mean(F.cross_entropy(scores, positives, reduction="none"))


def translation_ranking_loss(
    source: Tensor,
    target: Tensor,
    *,
    scale: float = 20.0,
    margin: float = 0.0,
    bidirectional: bool = True,
    duplicates: Tensor | None = None,
    hard_negatives: Tensor | None = None,
    hard_duplicates: Tensor | None = None,
    peers: Peers = LOCAL,
) -> Tensor:
    """The loss on embeddings.  ``duplicates`` (b, N) marks pairs that must not be negatives of each
    other, ``hard_duplicates`` (b, N) hard negatives that repeat a query's own translation."""
    source, target = F.normalize(source, dim=-1), F.normalize(target, dim=-1)
    candidates, offset = peers.all_rows(target)
    excluded = duplicates
    if hard_negatives is not None:
        hard, _ = peers.all_rows(F.normalize(hard_negatives, dim=-1))
        if duplicates is not None or hard_duplicates is not None:
            pairs = torch.zeros(len(source), len(candidates), dtype=torch.bool, device=source.device)
            pairs = duplicates if duplicates is not None else pairs
            repeats = torch.zeros(len(source), len(hard), dtype=torch.bool, device=source.device)
            repeats = hard_duplicates if hard_duplicates is not None else repeats
            excluded = torch.cat([pairs, repeats], dim=1)
        candidates = torch.cat([candidates, hard])
    loss = ranking_cross_entropy(
        source @ candidates.T, offset, scale=scale, margin=margin, excluded=excluded, peers=peers
    )
    if bidirectional:
        sources, _ = peers.all_rows(source)
        backward = ranking_cross_entropy(
            target @ sources.T, offset, scale=scale, margin=margin, excluded=duplicates, peers=peers
        )
        loss = (loss + backward) / 2
    return loss


def hard_duplicates_of(target: EncodedColumn, hard_negative: EncodedColumn, peers: Peers = LOCAL) -> Tensor:
    """(b, N) bool: hard negative j (of all processes) repeats local query i's own translation."""
    own = masked_ids(target.input_ids, target.attention_mask)
    hard = masked_ids(hard_negative.input_ids, hard_negative.attention_mask)
    return same_sentences(own, peers.all_ids(hard))


class TranslationRankingLoss(SplitLoss):
    """sentence-transformers loss module for :func:`translation_ranking_loss`."""

    components = ("translation_ranking",)

    def __init__(
        self,
        model: SentenceTransformer,
        scale: float = 20.0,
        margin: float = 0.0,
        bidirectional: bool = True,
        mask_duplicates: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.scale = scale
        self.margin = margin
        self.bidirectional = bidirectional
        self.mask_duplicates = mask_duplicates

    def row_vectors(self, batch: Batch, encoded: Any) -> dict[str, Tensor]:
        if len(encoded) not in (2, 3):
            raise ValueError(f"expected 2 or 3 text columns (source, target, hard negative): {len(encoded)}")
        return {name: column.sentence_embedding for name, column in zip(COLUMNS, encoded, strict=False)}

    def batch_terms(self, batch: Batch, vectors: dict[str, Tensor], peers: Peers) -> dict[str, Tensor]:
        columns = batch_columns(batch, vectors)
        duplicates = hard_duplicates = None
        if self.mask_duplicates:
            duplicates = duplicate_pairs(columns["source"], columns["target"], peers)
            if "hard_negative" in columns:
                hard_duplicates = hard_duplicates_of(columns["target"], columns["hard_negative"], peers)
        loss = translation_ranking_loss(
            vectors["source"],
            vectors["target"],
            scale=self.scale,
            margin=self.margin,
            bidirectional=self.bidirectional,
            duplicates=duplicates,
            hard_negatives=vectors.get("hard_negative"),
            hard_duplicates=hard_duplicates,
            peers=peers,
        )
        return {"translation_ranking": loss}

    def negatives_per_query(self, pool: int, hard_negative_columns: int = 0) -> int:
        return pool - 1 + pool * hard_negative_columns

    def get_config_dict(self) -> dict[str, float | bool]:
        return {
            "scale": self.scale,
            "margin": self.margin,
            "bidirectional": self.bidirectional,
            "mask_duplicates": self.mask_duplicates,
        }
