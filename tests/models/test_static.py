"""Static students: the teacher's piece vectors, centred and SIF-weighted, in a trainable StaticEmbedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from teachers import PRUNE_TEXT, build_teacher

from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.models.static import piece_vectors, sif_weights, special_frame, static_vectors
from interlingua.models.student import backend_tokenizer, make_student
from interlingua.models.student_config import StudentConfig


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return build_teacher(tmp_path_factory.mktemp("teacher"), layers=2)


@pytest.fixture(scope="module")
def static(teacher, tmp_path_factory):
    folder = tmp_path_factory.mktemp("static")
    text = folder / "text.txt"
    text.write_text("\n".join(PRUNE_TEXT), encoding="utf-8")
    make_student(StudentConfig(teacher=str(teacher), text=str(text), static=True, output=str(folder / "s")))
    return folder / "s"


def test_sif_weights_by_hand():
    weights = sif_weights(np.array([0, 1, 3]), sif=0.25)
    assert weights.tolist() == pytest.approx([1.0, 0.25 / (0.25 + 0.25), 0.25 / (0.25 + 0.75)])


def test_static_vectors_are_centred_then_weighted():
    vectors = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]])
    counts = np.array([0, 1, 3])
    expected = (vectors - vectors.mean(axis=0)) * sif_weights(counts, 1e-4)[:, None]
    np.testing.assert_allclose(static_vectors(vectors, counts, None, 1e-4), expected, rtol=1e-6)
    reduced = static_vectors(vectors, counts, 1, 1e-4)
    assert reduced.shape == (3, 1)


def test_a_piece_vector_is_the_teacher_reading_the_piece_alone(teacher):
    model = SentenceTransformer(str(teacher), device="cpu")
    tokenizer = backend_tokenizer(model)
    before, after = special_frame(tokenizer)
    assert (before, after) == ([0], [2])  # <s> piece </s>
    piece = tokenizer.token_to_id("▁die") or 10
    with torch.no_grad():
        states = model[0].auto_model(input_ids=torch.tensor([[0, piece, 2]])).last_hidden_state
    np.testing.assert_allclose(
        piece_vectors(model, tokenizer, np.array([piece]))[0], states.mean(1)[0], atol=1e-6
    )


def test_a_sentence_is_the_normalised_mean_of_its_pieces(static):
    model = SentenceTransformer(str(static), device="cpu")
    assert type(model[0]).__name__ == "StaticEmbedding"
    table = model[0].embedding.weight.detach().numpy()
    ids = model[0].tokenizer.encode(PRUNE_TEXT[0], add_special_tokens=False).ids
    mean = table[ids].mean(axis=0)
    np.testing.assert_allclose(model.encode([PRUNE_TEXT[0]])[0], mean / np.linalg.norm(mean), atol=1e-6)


def test_a_static_student_is_trainable_with_translation_ranking(static):
    model = SentenceTransformer(str(static), device="cpu")
    loss = TranslationRankingLoss(model)
    features = [model.preprocess(PRUNE_TEXT[:3]), model.preprocess(PRUNE_TEXT[3:6])]
    losses = loss(features)
    losses["translation_ranking"].backward()
    assert model[0].embedding.weight.grad.abs().sum() > 0
