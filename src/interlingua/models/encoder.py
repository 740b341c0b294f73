"""Sentence encoders as sentence-transformers models over Hugging Face ``transformers`` encoders.

Two starting points, one result type (``SentenceTransformer``, so ``SentenceTransformer(path)``
loads whatever the toolkit saves):

* ``build_scratch_encoder``: a BERT-style encoder trained from scratch, sized by
  ``EncoderConfig``.  The defaults are the Lightweight dual-transformer of Mao et al. (2021):
  2 post-LN layers, d=512, 8 heads, FFN 1024, swish, learned absolute positions, mean pooling.
  EMS's 6 x 1024 encoder is the same code with other numbers.
* ``load_pretrained_encoder``: a local folder or hub name.  A sentence-transformers folder loads
  as it is; a plain ``transformers`` folder gets the pooling of the config.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from interlingua.errors import ConfigError

POOLING_MODES = ("mean", "cls")


@dataclass
class EncoderConfig:
    """Size of a from-scratch encoder (defaults: the Lightweight model)."""

    layers: int = 2
    hidden: int = 512
    heads: int = 8
    ffn: int = 1024
    activation: str = "silu"  # swish
    dropout: float = 0.1
    max_length: int = 64  # pieces per sentence the model trains and encodes at
    pooling: str = "mean"
    # The position table: how long a sentence the encoder can ever take.  Independent of max_length,
    # so that a model trained at 64 pieces can be trained on at 200 later; before, it was max_length
    # and every longer input was cut there for good.
    max_positions: int = 512

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ConfigError(f"hidden size {self.hidden} is not divisible by {self.heads} heads")
        if self.max_length > self.max_positions:
            raise ConfigError(
                f"max_length {self.max_length} exceeds the encoder's {self.max_positions} positions: "
                "raise max_positions"
            )
        if self.pooling not in POOLING_MODES:
            raise ConfigError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLING_MODES)}")


def _sentence_transformer(model_dir: str, max_length: int | None, pooling: str) -> SentenceTransformer:
    transformer = Transformer(model_dir, max_seq_length=max_length)
    pool = Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling)
    return SentenceTransformer(modules=[transformer, pool], device="cpu")


def build_scratch_encoder(tokenizer: PreTrainedTokenizerFast, config: EncoderConfig) -> SentenceTransformer:
    """A randomly initialised encoder over ``tokenizer``'s vocabulary."""
    bert_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        intermediate_size=config.ffn,
        hidden_act=config.activation,
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.dropout,
        max_position_embeddings=config.max_positions,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        # No [CLS]/[SEP] are added by our tokenizers; set the ids so transformers does not warn.
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.pad_token_id,
    )
    bert_config.interlingua = asdict(config)
    # sentence-transformers builds its Transformer module from a folder: stage one, load from it.
    with tempfile.TemporaryDirectory(prefix="interlingua-init-") as staging:
        # The pooler stays (unused by mean pooling) so that a plain SentenceTransformer(path) loads
        # the saved folder without "newly initialised weights" warnings.
        bert = BertModel(bert_config)
        # The staging folder is this process's own: in a multi-process run transformers writes on
        # rank 0 only, which would leave the other processes nothing to build their copy from.
        bert.should_save_on_this_rank = lambda is_main_process: True
        bert.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        return _sentence_transformer(staging, config.max_length, config.pooling)


def set_max_length(model: SentenceTransformer, length: int | float) -> None:
    """Set the pieces per sentence a model reads; a static model (no positions, ``inf``) reads whole
    sentences and keeps doing so."""
    if model.max_seq_length != math.inf:
        model.max_seq_length = length


def load_pretrained_encoder(
    name_or_path: str | Path, *, max_length: int | None = None, pooling: str = "mean"
) -> SentenceTransformer:
    """Load a pretrained encoder from a local folder or a hub name.

    ``max_length`` (pieces per sentence) defaults to the model's own: what a sentence-transformers
    folder saved, or for a plain ``transformers`` folder the smaller of its positions and its
    tokenizer's limit (sentence-transformers' rule)."""
    path = Path(name_or_path)
    if path.is_dir() and (path / "modules.json").exists():
        model = SentenceTransformer(str(path), device="cpu")
        if max_length is not None:
            set_max_length(model, max_length)
        return model
    if path.is_dir() and not (path / "config.json").exists():
        raise ConfigError(f"{path}: not a model folder (no config.json or modules.json)")
    try:
        return _sentence_transformer(str(name_or_path), max_length, pooling)
    except OSError as error:
        raise ConfigError(f"{name_or_path}: cannot load pretrained encoder: {error}") from error
