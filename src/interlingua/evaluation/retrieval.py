"""Top-1 retrieval between two aligned sentence lists, scored by text equality.

Query ``i`` is a hit when the text of the key it retrieves equals the text of its gold key ``i``
(exact string equality, after the reader removed the line ending).  A benchmark can hold the same
sentence on several lines; retrieving any copy of the gold text is then a hit, whichever line it
sits on.  Vectors come from one encoding per distinct string, so copies tie exactly.  Among keys
with equal scores the one on the lowest line wins (numpy ``argmax`` order): two *different* texts
that a model maps to the same vector (say, a lower-casing model on "Biology" and "biology") are
not a tie the rule forgives, so such a retrieval counts only when it lands on the gold text.

Two scorings:
  * ``cosine``: the key with the highest dot product (vectors are L2-normalised).
  * ``margin``: the ratio margin of Artetxe & Schwenk (2019), k = 4: the k nearest keys by cosine are
    the candidates, each rescored as cos(x, y) / (mean_k cos(x, .) / 2 + mean_k cos(y, .) / 2), with
    the neighbourhood means taken query->keys and key->queries (k is cut to the list sizes, as in
    LASER).  This is the candidate scheme of LASER's xSIM and mining code; the k-NN search and the
    scorer are ``interlingua.mining.margin``'s, so retrieval and mining decide alike; on equal
    margins the more similar candidate wins, on equal cosines the lower line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from interlingua.mining.margin import best_by_margin, knn_search, neighbourhood_mean

Retrieval = Literal["cosine", "margin"]
RETRIEVAL_METHODS: tuple[Retrieval, ...] = ("cosine", "margin")
MARGIN_NEIGHBOURS = 4
RETRIEVAL_DESCRIPTIONS = {
    "cosine": "top-1 by cosine",
    "margin": f"top-1 by ratio margin, k={MARGIN_NEIGHBOURS}, among the k nearest by cosine",
}


def retrieve_top1(
    queries: np.ndarray, keys: np.ndarray, method: Retrieval, *, k: int = MARGIN_NEIGHBOURS
) -> np.ndarray:
    """For each query row, the index of the key it retrieves."""
    if method == "cosine":
        return np.argmax(queries @ keys.T, axis=1)
    if method == "margin":
        forward_sims, forward_ids = knn_search(queries, keys, k)
        backward_sims, _ = knn_search(keys, queries, k)
        best, _ = best_by_margin(
            forward_sims,
            forward_ids,
            neighbourhood_mean(forward_sims),
            neighbourhood_mean(backward_sims),
            "ratio",
        )
        return best
    raise ValueError(f"unknown retrieval method {method!r}; expected one of {RETRIEVAL_METHODS}")


def text_equality_hits(retrieved: np.ndarray, key_texts: Sequence[str]) -> np.ndarray:
    """Boolean per query ``i``: the retrieved key's text equals the text of key ``i``."""
    return np.fromiter(
        (key_texts[int(found)] == key_texts[gold] for gold, found in enumerate(retrieved)),
        dtype=bool,
        count=len(retrieved),
    )


def retrieval_hits(
    query_vectors: np.ndarray, key_vectors: np.ndarray, key_texts: Sequence[str], method: Retrieval
) -> np.ndarray:
    """Boolean per query: its top-1 key carries the gold text."""
    return text_equality_hits(retrieve_top1(query_vectors, key_vectors, method), key_texts)
