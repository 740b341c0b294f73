"""FLORES xSIM on a hand-made case, FLORES language selection, and the shared embedding cache."""

from __future__ import annotations

import numpy as np
import pytest
from eval_fakes import TableEncoder, write_xz_lines

from interlingua.errors import ConfigError
from interlingua.evaluation.embeddings import EmbeddingCache
from interlingua.evaluation.flores import evaluate_flores, flores_codes


def test_flores_codes_from_registry_sets_and_verbatim_codes():
    codes, missing = flores_codes("cmn,zho_Hant,ara,ang")
    assert codes == ["zho_Hans", "zho_Hant", "arb_Arab"]
    assert missing == ["ang"]
    assert len(flores_codes(None)[0]) == 36
    with pytest.raises(ConfigError, match="no FLORES-200 language"):
        flores_codes("ang")


def test_xsim_error_rate_golden_case(tmp_path):
    # English e0, e1, e2 = x, y, z axes.  German d0 -> x (right), d1 -> z (wrong: retrieves e2),
    # d2 -> z (right): 1 error in 3 = 33.33 %.  French all right: 0 %.  Mean 16.67 %.
    folder = tmp_path / "flores200_devtest"
    write_xz_lines(folder / "eng_Latn.devtest.xz", ["e0", "e1", "e2"])
    write_xz_lines(folder / "deu_Latn.devtest.xz", ["d0", "d1", "d2"])
    write_xz_lines(folder / "fra_Latn.devtest.xz", ["f0", "f1", "f2"])
    axes = {0: [1, 0, 0], 1: [0, 1, 0], 2: [0, 0, 1]}
    table = {f"e{i}": axes[i] for i in range(3)} | {f"f{i}": axes[i] for i in range(3)}
    table |= {"d0": axes[0], "d1": [0.1, 0.2, 0.9], "d2": axes[2]}
    result = evaluate_flores(TableEncoder(table), tmp_path, "deu,fra")
    assert result.error_rates == pytest.approx({"deu_Latn": 100 / 3, "fra_Latn": 0.0})
    assert result.average == pytest.approx(50 / 3)
    block = result.to_json()
    assert block["lower_is_better"] and block["per_language"]["deu_Latn"]["error_rate"] == pytest.approx(
        100 / 3
    )


def test_cache_encodes_each_distinct_sentence_once_shortest_first():
    encoder = TableEncoder({}, dim=4)
    cache = EmbeddingCache(encoder, chunk_size=2, show_progress=False)
    cache.prefetch(["ccc", "a", "bb", "a", "ccc"])
    assert encoder.calls == [2, 1]
    first = cache.encode(["bb", "a"])
    cache.encode(["a", "dddd", "a"])
    assert encoder.calls == [2, 1, 1]
    assert np.array_equal(first, encoder.encode(["bb", "a"]))
    assert cache.sentence_count == 4


class _WordTokenizer:
    """Stands in for a Hugging Face tokenizer: one token per space-separated word, plus 2 specials."""

    def __call__(self, texts, truncation=False):
        return {"input_ids": [[0, *range(len(text.split())), 1] for text in texts]}


def test_cache_sorts_by_token_count_when_the_encoder_has_a_tokenizer():
    # "aaaaaaaaaaaa" is 12 characters but one word; "b b b" 5 characters but three words.
    plain = TableEncoder({}, dim=4)
    EmbeddingCache(plain, show_progress=False).prefetch(["aaaaaaaaaaaa", "b b b", "c"])
    assert plain.inputs == ["c", "b b b", "aaaaaaaaaaaa"]
    with_tokenizer = TableEncoder({}, dim=4)
    with_tokenizer.model = type("Model", (), {"tokenizer": _WordTokenizer()})()
    with_tokenizer.prefix = "query: "  # adds one word to every sentence; the order stays
    EmbeddingCache(with_tokenizer, show_progress=False).prefetch(["b b b", "aaaaaaaaaaaa", "c"])
    assert with_tokenizer.inputs == ["aaaaaaaaaaaa", "c", "b b b"]


def test_cache_save_and_restore(tmp_path):
    cache = EmbeddingCache(TableEncoder({}, dim=4), show_progress=False)
    vectors = cache.encode(["one", "two"])
    cache.save(tmp_path / "embeddings")
    fresh_encoder = TableEncoder({}, dim=4)
    restored = EmbeddingCache(fresh_encoder, show_progress=False)
    restored.restore(tmp_path / "embeddings")
    assert np.array_equal(restored.encode(["two", "one"]), vectors[::-1])
    assert fresh_encoder.calls == []
    other = TableEncoder({}, dim=4)
    other.name = "another-model"
    with pytest.raises(ConfigError, match="another-model"):
        EmbeddingCache(other).restore(tmp_path / "embeddings")
