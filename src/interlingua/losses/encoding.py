"""One encoder pass per step, shared by every term of a recipe.

A recipe such as Lightweight (UGT + ALIGN + SIM) or DAP (TR + RTL) needs several views of the same
forward pass: sentence embeddings for the sentence-level terms, token states for RTL, layer-1
states for ML-CTL's pooling.  ``encode_columns`` runs the text columns (``encode_pair``: exactly
two) through the model in one merged forward (the columns are padded to a common width, which costs
little because the trainer buckets batches by the longer side of each pair) and hands each term an
``EncodedColumn``.

In a multi-process run the Trainer replaces the loss's model by its DDP wrapper; the forward pass
goes through the wrapper (so that DDP sees it), everything else through :func:`unwrap`.

Hidden states: the sentence-transformers ``Transformer`` module calls the inner model's
``forward`` directly, so forward hooks never fire; it copies ``hidden_states`` into the output
only while ``config.output_hidden_states`` is set.  ``encode_pair(..., hidden_states=True)`` sets
it for the duration of the call and restores it, so the exported model's config is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses.merged_forward import merge_feature_batches
from sentence_transformers.sentence_transformer.modules import StaticEmbedding
from torch import Tensor, nn

from interlingua.errors import ConfigError


@dataclass
class EncodedColumn:
    """What one forward pass gives for one text column (B rows, L pieces, width d)."""

    input_ids: Tensor  # (B, L)
    attention_mask: Tensor  # (B, L), 1 on real pieces
    token_embeddings: Tensor | None  # (B, L, d), last layer (None for a static model)
    sentence_embedding: Tensor  # (B, d), the model's own pooling
    hidden_states: tuple[Tensor, ...] | None = None  # embedding output, then every layer (B, L, d)


def unwrap(model: nn.Module) -> SentenceTransformer:
    """The sentence-transformers model inside a DDP (or ``torch.compile``) wrapper, or ``model``."""
    while True:
        inner = getattr(model, "module", None)
        if inner is None:
            inner = getattr(model, "_orig_mod", None)
        if inner is None:
            return model
        model = inner


def auto_model(model: SentenceTransformer) -> nn.Module:
    """The Hugging Face encoder inside a sentence-transformers model (its first module)."""
    return unwrap(model)[0].auto_model


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


def padded(column: dict) -> dict:
    """A static model's column (``StaticEmbedding``: every piece id in one flat tensor, and where each
    sentence starts) as padded rows and a mask, the layout the loss engine slices and compares."""
    if "offsets" not in column:
        return column
    ids, offsets = column["input_ids"], column["offsets"]
    lengths = torch.diff(offsets, append=offsets.new_tensor([len(ids)]))
    mask = torch.arange(max(int(lengths.max()), 1))[None, :] < lengths[:, None]
    rows = ids.new_zeros(mask.shape)
    rows[mask] = ids
    return {"input_ids": rows, "attention_mask": mask.long()}


def _static_columns(model: SentenceTransformer, features: list[dict]) -> tuple[EncodedColumn, ...]:
    """A static model's sentence embeddings (no token states: it has none)."""
    columns = []
    for column in features:
        mask = column["attention_mask"].bool()
        lengths = mask.sum(dim=1)
        offsets = torch.cumsum(lengths, dim=0) - lengths
        flat = {"input_ids": column["input_ids"][mask], "offsets": offsets}
        embedding = model(flat)["sentence_embedding"]
        columns.append(EncodedColumn(column["input_ids"], column["attention_mask"], None, embedding))
    return tuple(columns)


def is_static(model: nn.Module) -> bool:
    """Whether the model is a static one (a ``StaticEmbedding`` first module, no transformer)."""
    return isinstance(unwrap(model)[0], StaticEmbedding)


def encode_columns(
    model: SentenceTransformer, sentence_features: Iterable[dict], *, hidden_states: bool = False
) -> tuple[EncodedColumn, ...]:
    """Embed the text columns in one merged forward pass when they allow it."""
    features = [padded(dict(column)) for column in sentence_features]
    if is_static(model):
        if hidden_states:
            raise ConfigError("a static model has no hidden states: train it with a sentence-level objective")
        return _static_columns(model, features)
    size = features[0]["input_ids"].shape[0]
    with _hidden_states_on(model, hidden_states):
        merged = merge_feature_batches(features) if len(features) > 1 else None
        if merged is None:
            return tuple(_column(column, model(column), slice(None), hidden_states) for column in features)
        output = model(merged)
    return tuple(
        _column(column, output, slice(index * size, (index + 1) * size), hidden_states)
        for index, column in enumerate(features)
    )


def encode_pair(
    model: SentenceTransformer, sentence_features: Iterable[dict], *, hidden_states: bool = False
) -> tuple[EncodedColumn, EncodedColumn]:
    """Embed the (source, target) columns in one merged forward pass when they allow it."""
    features = [dict(column) for column in sentence_features]
    if len(features) != 2:
        raise ValueError(f"expected two text columns (source, target), got {len(features)}")
    source, target = encode_columns(model, features, hidden_states=hidden_states)
    return source, target


def masked_mean(states: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``states`` (B, L, d) over the positions where ``mask`` (B, L) is non-zero."""
    weights = mask.to(states.dtype).unsqueeze(-1)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
