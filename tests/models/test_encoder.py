import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from interlingua.errors import ConfigError
from interlingua.models.encode import load_encoder, unique_sentences
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder, load_pretrained_encoder
from interlingua.models.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(
        ["ein kleines haus", "a small house", "das ist gut", "that is good"] * 20, vocab_size=120
    )


def test_lightweight_defaults_and_sentence_transformers_round_trip(tokenizer, tmp_path):
    config = EncoderConfig()
    assert (config.layers, config.hidden, config.heads, config.ffn, config.activation) == (
        2,
        512,
        8,
        1024,
        "silu",
    )
    model = build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=32, heads=2, ffn=64))
    bert = model[0].auto_model.config
    assert (bert.num_hidden_layers, bert.hidden_size, bert.hidden_act) == (1, 32, "silu")
    model.save(str(tmp_path / "m"))
    reloaded = SentenceTransformer(str(tmp_path / "m"), device="cpu")
    assert np.allclose(reloaded.encode(["ein haus"]), model.encode(["ein haus"]), atol=1e-6)
    as_pretrained = load_pretrained_encoder(tmp_path / "m", max_length=16)
    assert as_pretrained.max_seq_length == 16


def test_encoder_interface_dedups_and_normalises(tokenizer, tmp_path):
    build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=32, heads=2, ffn=64)).save(
        str(tmp_path / "m")
    )
    encoder = load_encoder(tmp_path / "m")
    vectors = encoder.encode(["das ist gut", "a small house", "das ist gut"])
    assert vectors.shape == (3, 32) and vectors.dtype.name == "float32"
    assert (vectors[0] == vectors[2]).all()
    assert abs(float((vectors[1] ** 2).sum()) - 1.0) < 1e-5
    assert unique_sentences(["b", "a", "b"])[1].tolist() == [0, 1, 0]


def test_bad_model_paths(tmp_path):
    with pytest.raises(ConfigError, match="not a model folder"):
        load_encoder(tmp_path)
    with pytest.raises(ConfigError, match="missing: no such folder"):
        load_encoder(tmp_path / "missing")
    with pytest.raises(ConfigError, match="divisible"):
        EncoderConfig(hidden=30, heads=4)


def test_a_long_sentence_is_encoded_whole_and_positions_do_not_follow_max_length(tokenizer):
    model = build_scratch_encoder(
        tokenizer, EncoderConfig(layers=1, hidden=32, heads=2, ffn=64, max_length=128)
    )
    assert model[0].auto_model.config.max_position_embeddings == 512  # not the 128 it trains at
    words = ["haus", "gut", "klein", "das"] * 25
    pieces = model.preprocess([" ".join(words)])["input_ids"].shape[1]
    assert 100 <= pieces <= 128  # 100 words, none cut at 64
    changed = " ".join(words[:90] + ["ist"] + words[91:])  # a word past piece 64
    model.eval()
    assert not np.allclose(model.encode([" ".join(words)]), model.encode([changed]), atol=1e-6)
    with pytest.raises(ConfigError, match="exceeds the encoder's 512 positions"):
        EncoderConfig(max_length=600)
