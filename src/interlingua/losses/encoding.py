"""One encoder pass per step, shared by every term of a recipe.

A recipe such as Lightweight (UGT + ALIGN + SIM) or DAP (TR + RTL) needs several views of the same
forward pass: sentence embeddings for the sentence-level terms, token states for RTL, layer-1
states for ML-CTL's pooling.  ``encode_pair`` runs the two text columns through the model in one
merged forward (the columns are padded to a common width, which costs little because the trainer
buckets batches by the longer side of each pair) and hands each term an ``EncodedColumn``.

Hidden states: the sentence-transformers ``Transformer`` module calls the inner model's
``forward`` directly, so forward hooks never fire; it copies ``hidden_states`` into the output
only while ``config.output_hidden_states`` is set.  ``encode_pair(..., hidden_states=True)`` sets
it for the duration of the call and restores it, so the exported model's config is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import merge_feature_batches
from torch import Tensor, nn


@dataclass
class EncodedColumn:
    """What one forward pass gives for one text column (B rows, L pieces, width d)."""

    input_ids: Tensor  # (B, L)
    attention_mask: Tensor  # (B, L), 1 on real pieces
    token_embeddings: Tensor  # (B, L, d), last layer
    sentence_embedding: Tensor  # (B, d), the model's own pooling
    hidden_states: tuple[Tensor, ...] | None = None  # embedding output, then every layer (B, L, d)


def auto_model(model: SentenceTransformer) -> nn.Module:
    """The Hugging Face encoder inside a sentence-transformers model (its first module)."""
    return model[0].auto_model


def input_embeddings(model: SentenceTransformer) -> nn.Embedding:
    """The encoder's input word-embedding table (the weight tied output layers reuse)."""
    return auto_model(model).get_input_embeddings()


@contextmanager
def _hidden_states_on(model: SentenceTransformer, enabled: bool) -> Iterator[None]:
    config = auto_model(model).config
    before = config.output_hidden_states
    config.output_hidden_states = enabled or before
    try:
        yield
    finally:
        config.output_hidden_states = before


def _column(features: dict, output: dict, rows: slice, hidden_states: bool) -> EncodedColumn:
    width = features["input_ids"].shape[1]
    layers = output.get("all_layer_embeddings") if hidden_states else None
    return EncodedColumn(
        input_ids=features["input_ids"],
        attention_mask=features["attention_mask"],
        token_embeddings=output["token_embeddings"][rows, :width],
        sentence_embedding=output["sentence_embedding"][rows],
        hidden_states=tuple(layer[rows, :width] for layer in layers) if layers is not None else None,
    )


def encode_pair(
    model: SentenceTransformer, sentence_features: Iterable[dict], *, hidden_states: bool = False
) -> tuple[EncodedColumn, EncodedColumn]:
    """Embed the (source, target) columns in one merged forward pass when they allow it."""
    features = [dict(column) for column in sentence_features]
    if len(features) != 2:
        raise ValueError(f"expected two text columns (source, target), got {len(features)}")
    size = features[0]["input_ids"].shape[0]
    with _hidden_states_on(model, hidden_states):
        merged = merge_feature_batches(features)
        if merged is None:
            source, target = (
                _column(column, model(column), slice(None), hidden_states) for column in features
            )
            return source, target
        output = model(merged)
    return (
        _column(features[0], output, slice(0, size), hidden_states),
        _column(features[1], output, slice(size, 2 * size), hidden_states),
    )


def masked_mean(states: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``states`` (B, L, d) over the positions where ``mask`` (B, L) is non-zero."""
    weights = mask.to(states.dtype).unsqueeze(-1)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
