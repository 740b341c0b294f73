import lzma

import pytest
import torch

from interlingua.errors import ConfigError
from interlingua.losses.encoding import encode_pair, masked_mean
from interlingua.losses.mlctl import (
    MLCTLLoss,
    Word,
    WordSampler,
    lexicon_pairs,
    mutual_argmax,
    read_lexicon,
    split_words,
    two_layer_states,
)
from interlingua.losses.mlm import IGNORE, mask_for_mlm

from .tiny import encoder_gradient

SPECIAL = frozenset({"<s>", "</s>"})


def test_words_from_sentencepiece_pieces():
    tokens = ["<s>", "▁hallo", "▁wel", "t", ",", "▁das", "'", "s", "</s>"]
    words = split_words(tokens, SPECIAL)
    assert [(w.start, w.end, w.text) for w in words] == [
        (1, 2, "hallo"),
        (2, 4, "welt"),
        (4, 5, ","),
        (5, 6, "das"),
        (6, 7, "'"),
        (7, 8, "s"),
    ]


def test_words_from_wordpiece_pieces():
    words = split_words(
        ["[CLS]", "Hel", "##lo", "world", "[SEP]"], frozenset({"[CLS]", "[SEP]"}), wordpiece=True
    )
    assert [(w.start, w.end, w.text) for w in words] == [(1, 3, "hello"), (3, 4, "world")]


def test_lexicon_pairs_need_each_word_once_on_each_side():
    xs = [Word(0, 1, "die"), Word(1, 2, "katze"), Word(2, 3, "die"), Word(3, 4, "maus")]
    ys = [Word(0, 1, "the"), Word(1, 2, "cat"), Word(2, 3, "the"), Word(3, 4, "mouse")]
    lexicon = {"die": frozenset({"the"}), "katze": frozenset({"cat"}), "maus": frozenset({"mouse", "mice"})}
    pairs = lexicon_pairs(xs, ys, lexicon)
    assert [(x.text, y.text) for x, y in pairs] == [("katze", "cat"), ("maus", "mouse")]


def test_read_lexicon(tmp_path):
    path = tmp_path / "de-en.tsv"
    path.write_text("Katze\tcat\nkatze\tkitten\n\nhaus\thouse\n", encoding="utf-8")
    assert read_lexicon(path) == {"katze": frozenset({"cat", "kitten"}), "haus": frozenset({"house"})}
    path.write_text("katze cat\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="de-en.tsv:1"):
        read_lexicon(path)
    # A Unicode line separator is text, not a line end (str.splitlines would call the bad line 3).
    path.write_text("haus\thouse\u2028\nkatze cat\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="de-en.tsv:2"):
        read_lexicon(path)
    compressed = tmp_path / "de-en.tsv.xz"
    with lzma.open(compressed, "wt", encoding="utf-8") as handle:
        handle.write("Haus\thouse\n")
    assert read_lexicon(compressed) == {"haus": frozenset({"house"})}


def test_mutual_argmax():
    similarity = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.3, 0.7]])
    # row 0 -> col 0 <- row 0 (kept); row 1 -> col 0, but col 0 prefers row 0 (dropped); row 2 <-> col 2.
    assert mutual_argmax(similarity) == [(0, 0), (2, 2)]


def test_mlm_masking_rules():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 50, (200, 40), generator=generator)
    ids[:, 0] = 0  # a special symbol at the start of every row
    mask = torch.ones_like(ids)
    mask[:, 30:] = 0  # padding
    corrupted, labels = mask_for_mlm(
        ids, mask, mask_id=3, special_ids=torch.tensor([0, 1, 3]), vocab_size=50, generator=generator
    )
    selected = labels != IGNORE
    assert not selected[:, 0].any() and not selected[:, 30:].any()
    assert torch.equal(labels[selected], ids[selected])
    assert torch.equal(corrupted[~selected], ids[~selected])
    share = selected[:, 1:30].float().mean().item()
    assert share == pytest.approx(0.15, abs=0.02)
    masked = (corrupted[selected] == 3).float().mean().item()
    kept = (corrupted[selected] == ids[selected]).float().mean().item()
    assert masked == pytest.approx(0.8, abs=0.04) and kept == pytest.approx(0.1 + 0.1 / 50, abs=0.03)


def test_sentence_and_word_vectors_use_layer_one_and_the_last_layer(tiny_model, features):
    source, _ = encode_pair(tiny_model.eval(), features(), hidden_states=True)
    assert len(source.hidden_states) == 3  # embeddings, layer 1, layer 2
    assert torch.equal(source.hidden_states[-1], source.token_embeddings)
    s = masked_mean(two_layer_states(source), source.attention_mask)
    expected = masked_mean(source.hidden_states[1], source.attention_mask) + masked_mean(
        source.token_embeddings, source.attention_mask
    )
    assert torch.allclose(s, expected, atol=1e-6)
    assert not tiny_model[0].auto_model.config.output_hidden_states  # restored after the call


def test_lexicon_samples_from_a_real_batch(tiny_model, features, tmp_path):
    lexicon = {"katze": frozenset({"cat"}), "welt": frozenset({"world"}), "der": frozenset({"the"})}
    source, target = encode_pair(tiny_model, features())
    samples = WordSampler(tiny_model.tokenizer, lexicon)(source, target)
    # welt-world (pair 0) and katze-cat (pair 1); "the" occurs twice in pair 1, so der-the is skipped.
    assert samples.rows.tolist() == [0, 1]
    words = [
        tiny_model.tokenizer.convert_tokens_to_string(
            tiny_model.tokenizer.convert_ids_to_tokens(ids[spans].tolist())
        ).strip()
        for ids, spans in (
            (source.input_ids[0], samples.source_spans[0]),
            (target.input_ids[0], samples.target_spans[0]),
            (source.input_ids[1], samples.source_spans[1]),
            (target.input_ids[1], samples.target_spans[1]),
        )
    ]
    assert words == ["welt", "world", "katze", "cat"]


def test_mlctl_trains_encoder_and_heads(tiny_model, features, tmp_path):
    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text("katze\tcat\nwelt\tworld\n", encoding="utf-8")
    loss = MLCTLLoss(tiny_model, lexicon=lexicon, mlm_probability=0.5)
    losses = loss(features())
    assert set(losses) == {"sentence_contrastive", "word_contrastive", "mlm"}
    sum(losses.values()).backward()
    assert encoder_gradient(tiny_model) > 0
    assert loss.head.layers[0].weight.grad.abs().sum() > 0
    assert loss.mlm_head.dense.weight.grad.abs().sum() > 0
    heads = {k.split(".")[0] for k in loss.state_dict() if not k.startswith("model.")}
    assert heads == {"head", "mlm_head"}


def test_mlctl_aligns_words_without_a_lexicon(tiny_model, features):
    loss = MLCTLLoss(tiny_model)
    source, target = encode_pair(tiny_model, features(), hidden_states=True)
    samples = loss.sampler(source, target)
    assert len(samples.rows) >= 3  # at least one mutual-argmax pair per sentence pair
    assert samples.source_spans.any(1).all() and samples.target_spans.any(1).all()
    assert torch.isfinite(loss.contrastive_terms(source, target)["word_contrastive"])
