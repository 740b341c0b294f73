import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer

from interlingua.errors import ConfigError
from interlingua.losses.distillation import DistillationLoss, distillation_terms
from interlingua.losses.encoding import encode_pair
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder

from .tiny import TARGETS, encoder_gradient


@pytest.fixture
def teacher_folder(tmp_path, tiny_tokenizer):
    """A tiny teacher saved as a sentence-transformers folder, as a user would pass it."""
    torch.manual_seed(1)
    teacher = build_scratch_encoder(tiny_tokenizer, EncoderConfig(layers=1, hidden=16, heads=2, ffn=32))
    teacher.save(str(tmp_path / "teacher"))
    return tmp_path / "teacher"


def test_terms_are_mse_to_the_teachers_english_embedding():
    source, target, teacher = (
        torch.tensor([[1.0, 2.0]]),
        torch.tensor([[0.0, 0.0]]),
        torch.tensor([[1.0, 0.0]]),
    )
    terms = distillation_terms(source, target, teacher)
    assert terms["distillation_source"].item() == pytest.approx((0 + 4) / 2)
    assert terms["distillation_target"].item() == pytest.approx((1 + 0) / 2)


def test_student_regresses_the_teacher_on_the_english_text(tiny_model, features, teacher_folder):
    teacher = SentenceTransformer(str(teacher_folder), device="cpu")
    loss = DistillationLoss(tiny_model, teacher, teacher_prefix="")
    assert not list(loss.state_dict()) or all(k.startswith("model.") for k in loss.state_dict())
    assert not any(p is q for p in loss.parameters() for q in teacher.parameters())
    tiny_model.eval()
    losses = loss(features())
    source, target = encode_pair(tiny_model, features())
    expected_teacher = torch.tensor(teacher.encode(TARGETS))
    assert losses["distillation_source"].item() == pytest.approx(
        F.mse_loss(source.sentence_embedding, expected_teacher).item(), rel=1e-4
    )
    assert losses["distillation_target"].item() == pytest.approx(
        F.mse_loss(target.sentence_embedding, expected_teacher).item(), rel=1e-4
    )
    sum(losses.values()).backward()
    assert encoder_gradient(tiny_model) > 0
    assert all(p.grad is None for p in teacher.parameters())


def test_teacher_prefix_reaches_the_teacher(tiny_model, features, teacher_folder):
    teacher = SentenceTransformer(str(teacher_folder), device="cpu")
    plain = DistillationLoss(tiny_model, teacher).teacher_embeddings(features()[1]["input_ids"])
    prefixed = DistillationLoss(tiny_model, teacher, teacher_prefix="hello ").teacher_embeddings(
        features()[1]["input_ids"]
    )
    assert not torch.allclose(plain, prefixed)


def test_widths_must_match(tiny_tokenizer, tiny_model):
    wide = build_scratch_encoder(tiny_tokenizer, EncoderConfig(layers=1, hidden=32, heads=2, ffn=32))
    with pytest.raises(ConfigError, match="--hidden 32"):
        DistillationLoss(tiny_model, wide)
