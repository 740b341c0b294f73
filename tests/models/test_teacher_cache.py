"""The teacher's embeddings: computed once per distinct sentence, reused, recomputed when anything changes."""

from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from teachers import PRUNE_TEXT, build_teacher

from interlingua.models import teacher_cache
from interlingua.models.teacher_cache import rows_for, teacher_embeddings


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return build_teacher(tmp_path_factory.mktemp("teacher"), layers=1)


def test_rows_for_distinct_sentences():
    distinct, rows = rows_for(["a", "b", "a", "c", "b"])
    assert distinct == ["a", "b", "c"]
    assert rows.tolist() == [0, 1, 0, 2, 1]


def test_embeddings_are_the_teachers_and_reused(teacher, tmp_path, monkeypatch):
    rows, reused = teacher_embeddings(str(teacher), PRUNE_TEXT, prefix="query: ", cache_root=tmp_path)
    expected = SentenceTransformer(str(teacher), device="cpu").encode(["query: " + s for s in PRUNE_TEXT])
    np.testing.assert_allclose(rows, expected, atol=1e-6)
    assert not reused and isinstance(rows, np.memmap)

    def no_teacher(*args, **kwargs):
        raise AssertionError("the teacher was loaded again")

    monkeypatch.setattr("interlingua.models.encoder.load_pretrained_encoder", no_teacher)
    again, reused = teacher_embeddings(str(teacher), PRUNE_TEXT, prefix="query: ", cache_root=tmp_path)
    assert reused and np.array_equal(again, rows)


def test_another_prefix_text_or_teacher_content_is_another_entry(teacher, tmp_path):
    key = teacher_cache.cache_key(str(teacher), "", PRUNE_TEXT)
    assert key != teacher_cache.cache_key(str(teacher), "query: ", PRUNE_TEXT)
    assert key != teacher_cache.cache_key(str(teacher), "", PRUNE_TEXT[:-1])
    (teacher / "README.md").write_text("changed", encoding="utf-8")
    assert key != teacher_cache.cache_key(str(teacher), "", PRUNE_TEXT)


def test_default_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERLINGUA_CACHE", str(tmp_path))
    assert teacher_cache.default_cache_root() == tmp_path / "teacher"


def test_teacher_width_is_read_without_loading(teacher, tmp_path):
    assert teacher_cache.teacher_width(str(teacher)) == 16
    assert teacher_cache.teacher_width(str(teacher.parent / "hf")) == 16  # a plain transformers folder
    assert teacher_cache.teacher_width("org/some-hub-model") is None
