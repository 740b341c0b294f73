"""Distillation: the distance to the teacher (centred, or the paper's MSE), the ranking term, where the
teacher's embeddings come from, and a tiny student that learns the teacher's geometry."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer

from interlingua.errors import ConfigError
from interlingua.losses.distillation import DistillationLoss, centred, distillation_distance
from interlingua.losses.encoding import encode_pair
from interlingua.losses.translation_ranking import translation_ranking_loss
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder

from .tiny import SOURCES, TARGETS, encoder_gradient


@pytest.fixture
def teacher_folder(tmp_path, tiny_tokenizer):
    """A tiny teacher saved as a sentence-transformers folder, as a user would pass it."""
    torch.manual_seed(1)
    teacher = build_scratch_encoder(tiny_tokenizer, EncoderConfig(layers=1, hidden=16, heads=2, ffn=32))
    teacher.save(str(tmp_path / "teacher"))
    return tmp_path / "teacher"


def test_centred_distance_by_hand():
    student = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    teacher = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    # centred: student rows (0.5, -0.5), (-0.5, 0.5); teacher rows (0, 1), (0, -1); at 135 degrees
    assert distillation_distance(student, teacher).item() == pytest.approx(2 + math.sqrt(2))
    assert distillation_distance(student, teacher, center=False).item() == pytest.approx((0 + 1 + 1 + 4) / 4)


def test_the_common_direction_does_not_count():
    teacher = F.normalize(torch.tensor([[3.0, 1.0, 0.0], [3.0, -1.0, 0.0], [3.0, 0.0, 1.0]]), dim=-1)
    shifted = teacher + torch.tensor([5.0, 0.0, 0.0])  # same sentences, another common direction
    assert distillation_distance(shifted, teacher).item() == pytest.approx(0.0, abs=1e-6)
    constant = teacher.mean(dim=0, keepdim=True).expand_as(teacher)  # the collapse of plain MSE
    assert distillation_distance(constant, teacher, center=False) < distillation_distance(
        teacher[[1, 2, 0]], teacher, center=False
    )
    assert distillation_distance(constant, teacher) == pytest.approx(1.0)  # no direction left
    assert torch.all(centred(constant) == 0)


def test_loss_from_label_embeddings_by_parts(tiny_model, features):
    tiny_model.eval()
    teacher = F.normalize(torch.randn(len(TARGETS), 16, generator=torch.Generator().manual_seed(3)), dim=-1)
    loss = DistillationLoss(tiny_model, distill_weight=2.0, ranking_weight=0.5, scale=10.0)
    losses = loss(features(), teacher)
    assert list(losses) == ["distillation_source", "distillation_target", "translation_ranking"]
    source, target = encode_pair(tiny_model, features())
    s, t = source.sentence_embedding, target.sentence_embedding
    assert losses["distillation_source"].item() == pytest.approx(2 * distillation_distance(s, teacher).item())
    assert losses["distillation_target"].item() == pytest.approx(2 * distillation_distance(t, teacher).item())
    ranking = translation_ranking_loss(s, t, scale=10.0)  # the tiny batch has no duplicate sentences
    assert losses["translation_ranking"].item() == pytest.approx(0.5 * ranking.item(), rel=1e-5)
    sum(losses.values()).backward()
    assert encoder_gradient(tiny_model) > 0


def test_integer_labels_read_the_cached_rows(tiny_model, features):
    tiny_model.eval()
    rows = np.random.default_rng(0).standard_normal((10, 16)).astype(np.float32)
    loss = DistillationLoss(tiny_model)
    loss.use_teacher_rows(rows)
    by_id = loss(features(), torch.tensor([7, 2, 5]))
    by_value = loss(features(), torch.from_numpy(rows[[7, 2, 5]]))
    for name in by_id:
        assert by_id[name].item() == pytest.approx(by_value[name].item())
    with pytest.raises(ConfigError, match="16 dimensions and the teacher's 8"):
        loss.use_teacher_rows(rows[:, :8])


def test_a_teacher_model_reads_the_english_side_with_its_prefix(tiny_model, features, teacher_folder):
    teacher = SentenceTransformer(str(teacher_folder), device="cpu")
    loss = DistillationLoss(tiny_model, teacher)
    assert not list(loss.state_dict()) or all(k.startswith("model.") for k in loss.state_dict())
    tiny_model.eval()
    expected = torch.tensor(teacher.encode(TARGETS))
    assert torch.allclose(loss.teacher_embeddings(features()[1]["input_ids"]), expected, atol=1e-6)
    prefixed = DistillationLoss(tiny_model, teacher, teacher_prefix="hello ")
    assert not torch.allclose(prefixed.teacher_embeddings(features()[1]["input_ids"]), expected)
    sum(loss(features()).values()).backward()
    assert all(p.grad is None for p in teacher.parameters())


def test_widths_must_match(tiny_tokenizer, tiny_model):
    wide = build_scratch_encoder(tiny_tokenizer, EncoderConfig(layers=1, hidden=32, heads=2, ffn=32))
    with pytest.raises(ConfigError, match="width 32"):
        DistillationLoss(tiny_model, wide)


def similarity_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of the off-diagonal cosine similarities of two sets of embeddings."""
    off = ~torch.eye(len(a), dtype=torch.bool)
    sa = (F.normalize(a, dim=-1) @ F.normalize(a, dim=-1).T)[off]
    sb = (F.normalize(b, dim=-1) @ F.normalize(b, dim=-1).T)[off]
    return torch.corrcoef(torch.stack([sa, sb]))[0, 1].item()


def test_a_scratch_student_learns_the_teachers_geometry_not_its_common_direction(tiny_tokenizer):
    """The measured collapse, in small: a teacher whose embeddings share one direction (mean cosine
    about 0.8, as e5's).  A scratch student distilled with the centred distance ends up ordering the
    sentences' similarities as the teacher does, better than at its start."""
    generator = torch.Generator().manual_seed(0)
    texts = SOURCES + TARGETS
    common = F.normalize(torch.randn(16, generator=generator), dim=0)
    teacher = F.normalize(
        2.0 * common + 0.9 * F.normalize(torch.randn(len(texts), 16, generator=generator)), dim=-1
    )
    off = ~torch.eye(len(texts), dtype=torch.bool)
    assert (teacher @ teacher.T)[off].mean() > 0.7
    torch.manual_seed(0)
    student = build_scratch_encoder(
        tiny_tokenizer, EncoderConfig(layers=1, hidden=16, heads=2, ffn=32, dropout=0)
    )
    loss = DistillationLoss(student, ranking_weight=0.0)
    columns = [student.preprocess(texts), student.preprocess(texts)]

    def fit() -> float:
        with torch.no_grad():
            return similarity_correlation(
                encode_pair(student, [dict(c) for c in columns])[0].sentence_embedding, teacher
            )

    start = fit()
    optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
    for _ in range(150):
        optimizer.zero_grad()
        sum(loss([dict(c) for c in columns], teacher).values()).backward()
        optimizer.step()
    assert fit() > max(0.75, start + 0.5)
