"""Joint multilingual vocabularies trained with Hugging Face ``tokenizers``.

One vocabulary serves every language of a model, so it is trained on a sample balanced across
languages: each language contributes at most ``lines_per_language`` lines, so that Russian's 18k
lines do not crowd out a language with 2k.  The result is a ``PreTrainedTokenizerFast`` that
saves next to the model and loads with ``AutoTokenizer``.

Pipeline: NFKC (and optional lower-casing, as the Lightweight and EMS papers do), then a
SentencePiece-style ``Metaspace`` split with punctuation isolated (so "hier." and "hier" share a
piece), then BPE or Unigram.  Reserved symbols: padding, unknown, ``<mask>`` (masked-LM and UGT
targets) and one ``<2xx>`` symbol per language (the EMS language embedding and decoders).  No
[CLS]/[SEP] are added to sentences: the from-scratch encoders mean-pool, so they would only add
tokens to every sequence.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from interlingua.errors import ConfigError

if TYPE_CHECKING:  # transformers takes half a second to import; the command line lists TOKENIZER_MODELS
    from transformers import PreTrainedTokenizerFast

    from interlingua.data.parallel import ParallelCorpus

PAD, UNK, MASK = "<pad>", "<unk>", "<mask>"
TOKENIZER_MODELS = ("bpe", "unigram")


def language_symbol(code: str) -> str:
    """The reserved vocabulary symbol of a language, e.g. ``<2deu>``."""
    return f"<2{code}>"


def balanced_sample(
    texts_by_language: Mapping[str, Sequence[str]], lines_per_language: int, seed: int = 0
) -> list[str]:
    """At most ``lines_per_language`` distinct non-empty lines of each language, sampled at random."""
    rng = random.Random(seed)
    sample: list[str] = []
    for language in sorted(texts_by_language):
        lines = list(dict.fromkeys(line for line in texts_by_language[language] if line.strip()))
        if len(lines) > lines_per_language:
            lines = rng.sample(lines, lines_per_language)
        sample.extend(lines)
    return sample


def train_tokenizer(
    texts: Iterable[str],
    *,
    vocab_size: int = 32000,
    model: str = "bpe",
    lowercase: bool = True,
    languages: Sequence[str] = (),
    max_length: int = 128,
) -> PreTrainedTokenizerFast:
    """Train a joint vocabulary on ``texts`` and wrap it as a transformers tokenizer."""
    from transformers import PreTrainedTokenizerFast

    if model not in TOKENIZER_MODELS:
        raise ConfigError(f"unknown tokenizer model {model!r}; choose one of {', '.join(TOKENIZER_MODELS)}")
    special = [PAD, UNK, MASK, *(language_symbol(code) for code in languages)]
    steps = [normalizers.NFKC(), *([normalizers.Lowercase()] if lowercase else [])]
    if model == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    else:
        tokenizer = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=special, unk_token=UNK, show_progress=False
        )
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation(behavior="isolated")]
    )
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(texts, trainer=trainer)
    if tokenizer.get_vocab_size() <= len(special):
        raise ConfigError("tokenizer training produced no pieces: is the training text empty?")
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        unk_token=UNK,
        mask_token=MASK,
        additional_special_tokens=special[3:],
        model_max_length=max_length,
    )


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, output: str | Path) -> Path:
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(output))
    return output


def tokenizer_from_corpora(
    corpora: Iterable[ParallelCorpus],
    *,
    lines_per_language: int,
    seed: int = 0,
    extra_texts: Mapping[str, Sequence[str]] | None = None,
    **options: Any,
) -> PreTrainedTokenizerFast:
    """A joint vocabulary of both sides of ``corpora``, each language sampled to at most
    ``lines_per_language`` lines (:func:`balanced_sample`), with one symbol per language.
    ``extra_texts``: more text by name (a file each), sampled alike, with no language symbol;
    ``options``: those of :func:`train_tokenizer`."""
    texts: dict[str, list[str]] = {}
    for corpus in corpora:
        texts.setdefault(corpus.src_lang, []).extend(corpus.src)
        texts.setdefault(corpus.tgt_lang, []).extend(corpus.tgt)
    languages = sorted(texts)
    texts.update(extra_texts or {})
    if not texts:
        raise ConfigError("no text to train on: pass --langs and/or --input FILE")
    sample = balanced_sample(texts, lines_per_language, seed=seed)
    return train_tokenizer(sample, languages=languages, **options)


def build_tokenizer_from_sources(
    *,
    langs: str | None,
    corpora: Sequence[str],
    data_root: str | Path | None,
    input_files: Sequence[str | Path],
    vocab_size: int,
    model: str,
    lowercase: bool,
    lines_per_language: int,
    output: str | Path,
) -> PreTrainedTokenizerFast:
    """Gather text from training corpora and/or files, train, save; the ``tokenizer train`` job."""
    from interlingua.data.corpora import load_training_corpora, resolve_data_root
    from interlingua.data.languages import parse_language_list
    from interlingua.data.textio import read_lines

    found = []
    if langs:
        codes = [language.code for language in parse_language_list(langs)]
        found = load_training_corpora(resolve_data_root(data_root), codes, corpora=corpora)
    tokenizer = tokenizer_from_corpora(
        found,
        lines_per_language=lines_per_language,
        extra_texts={str(path): read_lines(path) for path in input_files},
        vocab_size=vocab_size,
        model=model,
        lowercase=lowercase,
    )
    save_tokenizer(tokenizer, output)
    return tokenizer
