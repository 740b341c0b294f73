import pytest
from transformers import AutoTokenizer

from interlingua.data.textio import read_lines
from interlingua.errors import ConfigError
from interlingua.models.tokenizer import (
    MASK,
    balanced_sample,
    language_symbol,
    save_tokenizer,
    train_tokenizer,
)


@pytest.fixture(scope="module")
def texts(data_root):
    folder = data_root / "train_tatoeba_challenge_eng"
    return {
        "deu": read_lines(folder / "deu-eng.deu.xz")[:3000],
        "rus": read_lines(folder / "rus-eng.rus.xz")[:3000],
        "eng": read_lines(folder / "deu-eng.eng.xz")[:3000],
    }


@pytest.mark.parametrize("model", ["bpe", "unigram"])
def test_round_trip_through_save_and_autotokenizer(texts, tmp_path, model):
    tokenizer = train_tokenizer(
        balanced_sample(texts, 1000), vocab_size=800, model=model, languages=["deu", "rus", "eng"]
    )
    save_tokenizer(tokenizer, tmp_path)
    reloaded = AutoTokenizer.from_pretrained(str(tmp_path))
    for sentence in ["Das ist ein Haus, nicht wahr?", "Я не знаю, где он.", "Tom isn't here."]:
        ids = reloaded(sentence)["input_ids"]
        assert ids == tokenizer(sentence)["input_ids"]
        assert reloaded.decode(ids) == sentence.lower()  # lower-cased, otherwise lossless
    assert reloaded.convert_tokens_to_ids(MASK) == reloaded.mask_token_id
    assert reloaded.convert_tokens_to_ids(language_symbol("rus")) != reloaded.unk_token_id


def test_case_is_kept_when_asked(texts):
    tokenizer = train_tokenizer(balanced_sample(texts, 500), vocab_size=600, lowercase=False)
    assert tokenizer.decode(tokenizer("Tom ist hier.")["input_ids"]) == "Tom ist hier."


def test_punctuation_is_split_from_words(texts):
    tokenizer = train_tokenizer(balanced_sample(texts, 500), vocab_size=600)
    pieces = tokenizer.convert_ids_to_tokens(tokenizer("hier.")["input_ids"])
    assert pieces[-1] == "."


def test_balanced_sample_caps_each_language():
    sample = balanced_sample({"a": [f"a{i}" for i in range(50)], "b": ["b1", "b2", "", "b1"]}, 10, seed=1)
    assert sum(s.startswith("a") for s in sample) == 10
    assert sorted(s for s in sample if s.startswith("b")) == ["b1", "b2"]  # distinct, empty dropped


def test_unknown_model_and_empty_text_are_errors():
    with pytest.raises(ConfigError, match="unknown tokenizer model"):
        train_tokenizer(["a b c"], model="wordpiece")
    with pytest.raises(ConfigError, match="no pieces"):
        train_tokenizer([], vocab_size=100)
