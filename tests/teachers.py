"""Tiny teachers as users pass them: sentence-transformers folders over an XLM-R-style encoder with a
SentencePiece-Unigram tokenizer (as e5), or a BERT encoder with a WordPiece tokenizer (as LaBSE)."""

from __future__ import annotations

from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

TEXT = [
    "hallo welt, das ist ein test.",
    "die katze sitzt auf der matte",
    "bonjour le monde !",
    "le chat est sur le tapis",
    "hello world, this is a test.",
    "the cat sits on the mat",
    "das haus ist groß und alt",
    "la maison est grande et vieille",
    "the house is big and old",
    "wir gehen morgen in die stadt",
    "nous allons en ville demain",
    "we go to town tomorrow",
]
PRUNE_TEXT = TEXT[:6]  # what the students are pruned on; the rest is "other text"


def _unigram() -> tuple[Tokenizer, dict]:
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=150, special_tokens=specials, unk_token="<unk>")
    tokenizer.train_from_iterator(TEXT, trainer)
    tokenizer.add_special_tokens(["<mask>"])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    names = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    return tokenizer, {**names, "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}


def _wordpiece() -> tuple[Tokenizer, dict]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(TEXT, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return tokenizer, {
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    }


def build_teacher(folder: Path, kind: str = "unigram", layers: int = 4) -> Path:
    """A random tiny teacher saved as a sentence-transformers folder (mean pooling, normalised)."""
    torch.manual_seed(0)
    tokenizer, names = _unigram() if kind == "unigram" else _wordpiece()
    size = {
        "vocab_size": tokenizer.get_vocab_size(),
        "hidden_size": 16,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": 32,
    }
    if kind == "unigram":
        encoder = XLMRobertaModel(XLMRobertaConfig(**size, pad_token_id=1, max_position_embeddings=66))
    else:
        encoder = BertModel(BertConfig(**size, pad_token_id=0, max_position_embeddings=64))
    raw = folder / "hf"
    encoder.save_pretrained(raw)
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, **names).save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=64)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu").save(str(folder / "st"))
    return folder / "st"
