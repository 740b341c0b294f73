"""GradCache (losses/gradcache.py): cached and plain losses give the same loss and gradients.

Every objective runs through the one engine (losses/engine.py), so each is checked here: the
in-batch terms alone, with hard negatives, and the recipes that add per-example terms (XTR, UGT,
RTL, MLM, distillation).  Dropout is off (eval mode) so that both ways see the same network; the
replay of dropout masks is checked on its own.
"""

from __future__ import annotations

import pytest
import torch

from interlingua.errors import ConfigError
from interlingua.losses.align import AlignLoss
from interlingua.losses.cz_nce import CZNCELoss
from interlingua.losses.dap import DAPLoss
from interlingua.losses.distillation import DistillationLoss
from interlingua.losses.ems import EMSLoss
from interlingua.losses.ems_contrastive import EMSContrastiveLoss
from interlingua.losses.engine import SplitLoss
from interlingua.losses.lightweight import LightweightLoss
from interlingua.losses.mlctl import MLCTLLoss
from interlingua.losses.rtl import RTLLoss
from interlingua.losses.sim import SimLoss
from interlingua.losses.tr_plus import RTLTerm, TRPlusLoss, UGTTerm, WordTerm, XTRTerm
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.losses.ugt import UGTLoss
from interlingua.losses.xtr import XTRLoss
from interlingua.models.encoder import EncoderConfig, build_scratch_encoder

from .tiny import LANGUAGES, SOURCES, TARGETS

# Seven pairs, so that chunks of 3 leave a short last chunk; pair 5 repeats pair 1's target.
PAIRS_SOURCES = [*SOURCES, "die katze schläft", "hallo katze", "le monde est test", "bonjour la matte"]
PAIRS_TARGETS = [*TARGETS, "the cat sleeps", "the cat sits on the mat", "the world is a test", "hello mat"]
HARD_NEGATIVES = [*PAIRS_TARGETS[1:], PAIRS_TARGETS[0]]  # another pair's translation; some repeat
ROW_LANGUAGES = torch.tensor([1, 1, 2, 1, 1, 2, 2])
CHUNK = 3


def columns(model, texts: list[list[str]]) -> list[dict]:
    return [dict(model.preprocess(column)) for column in texts]


def run(loss: SplitLoss, model, texts, labels=None, chunk: int | None = None, seed: int = 3):
    """Components and gradients (encoder and heads) of one forward and backward pass."""
    loss.configure(cache_chunk_size=chunk)
    loss.zero_grad(set_to_none=True)
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)  # the same UGT / MLM corruption both ways
    losses = loss(columns(model, texts), labels)
    torch.stack(list(losses.values())).sum().backward()
    parameters = {f"model.{k}": p for k, p in model.named_parameters()}
    parameters.update({k: p for k, p in loss.named_parameters() if not k.startswith("model.")})
    gradients = {k: p.grad.clone() for k, p in parameters.items() if p.grad is not None}
    return {k: v.detach() for k, v in losses.items()}, gradients


def assert_same(plain, cached) -> None:
    (plain_losses, plain_gradients), (cached_losses, cached_gradients) = plain, cached
    assert list(cached_losses) == list(plain_losses)  # same components, same order
    for name, value in plain_losses.items():
        assert cached_losses[name].item() == pytest.approx(value.item(), abs=1e-5), name
    assert cached_gradients.keys() == plain_gradients.keys()
    for name, gradient in plain_gradients.items():
        torch.testing.assert_close(cached_gradients[name], gradient, atol=1e-5, rtol=1e-4, msg=name)
    assert any(gradient.abs().sum() > 0 for gradient in plain_gradients.values())


@pytest.fixture
def teacher(tiny_tokenizer):
    torch.manual_seed(1)
    return build_scratch_encoder(tiny_tokenizer, EncoderConfig(layers=1, hidden=16, heads=2, ffn=32)).eval()


OBJECTIVES = {
    "translation_ranking": lambda model, teacher: TranslationRankingLoss(model, margin=0.3),
    "align": lambda model, teacher: AlignLoss(model),
    "sim": lambda model, teacher: SimLoss(model),
    "ems_contrastive": lambda model, teacher: EMSContrastiveLoss(model, projection_dim=8),
    "info_nce": lambda model, teacher: CZNCELoss(model, cross_zero=False),
    "cz_nce": lambda model, teacher: CZNCELoss(model),
    "xtr": lambda model, teacher: XTRLoss(model, head="ems", languages=LANGUAGES),
    "ugt": lambda model, teacher: UGTLoss(model),
    "rtl": lambda model, teacher: RTLLoss(model, layers=1),
    "ems": lambda model, teacher: EMSLoss(model, LANGUAGES, language_dim=4, projection_dim=8),
    "dap": lambda model, teacher: DAPLoss(model, margin=0.2, rtl_layers=1),
    "lightweight": lambda model, teacher: LightweightLoss(model),
    "mlctl": lambda model, teacher: MLCTLLoss(model, mlm_probability=0.5),
    "distillation": lambda model, teacher: DistillationLoss(model, teacher),
    "tr_plus_xtr": lambda model, teacher: TRPlusLoss(model, XTRTerm(model, "ems", LANGUAGES, 4), 0.3),
    "tr_plus_ugt": lambda model, teacher: TRPlusLoss(model, UGTTerm(model, "lightweight", LANGUAGES), 0.3),
    "tr_plus_rtl": lambda model, teacher: TRPlusLoss(model, RTLTerm(model, layers=1), 0.3),
    "tr_plus_word": lambda model, teacher: TRPlusLoss(model, WordTerm(model), 0.3),
}


@pytest.mark.parametrize("name", OBJECTIVES)
def test_cached_loss_and_gradients_equal_the_plain_ones(tiny_model, teacher, name):
    model = tiny_model.eval()  # no dropout: both ways see the same network
    loss = OBJECTIVES[name](model, teacher).eval()
    texts = [PAIRS_SOURCES, PAIRS_TARGETS]
    plain = run(loss, model, texts, ROW_LANGUAGES)
    assert_same(plain, run(loss, model, texts, ROW_LANGUAGES, chunk=CHUNK))
    assert_same(plain, run(loss, model, texts, ROW_LANGUAGES, chunk=1))  # one pair per chunk


def test_cached_translation_ranking_with_hard_negatives(tiny_model):
    model = tiny_model.eval()
    loss = TranslationRankingLoss(model, margin=0.3)
    texts = [PAIRS_SOURCES, PAIRS_TARGETS, HARD_NEGATIVES]
    plain = run(loss, model, texts)
    assert_same(plain, run(loss, model, texts, chunk=CHUNK))
    two_columns = run(loss, model, texts[:2])[0]["translation_ranking"]
    assert plain[0]["translation_ranking"] > two_columns  # more negatives, harder ranking


@pytest.mark.parametrize("bf16", [False, True])
def test_dropout_masks_are_replayed_in_the_second_pass(tiny_model, monkeypatch, bf16):
    """With dropout on, the second pass must recompute exactly the vectors of the first (under the
    same autocast, which the backward pass does not inherit): the cached gradients belong to them."""
    model = tiny_model.train()  # dropout 0.1
    loss = DAPLoss(model, rtl_layers=1)
    seen: list[torch.Tensor] = []
    original = DAPLoss.row_vectors

    def recording(self, batch, encoded):
        vectors = original(self, batch, encoded)
        seen.append(vectors["source"].detach().clone())
        return vectors

    monkeypatch.setattr(DAPLoss, "row_vectors", recording)
    loss.configure(cache_chunk_size=CHUNK)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # as the Trainer: forward only
        losses = loss(columns(model, [PAIRS_SOURCES, PAIRS_TARGETS]))
    sum(losses.values()).backward()
    chunks = -(-len(PAIRS_SOURCES) // CHUNK)
    assert len(seen) == 2 * chunks
    for first, second in zip(seen[:chunks], seen[chunks:], strict=True):
        torch.testing.assert_close(second, first, atol=0, rtol=0)
    batch = loss.prepare(columns(model, [PAIRS_SOURCES, PAIRS_TARGETS]), None).slice(0, CHUNK)
    again = original(loss, batch, loss.encode(batch))
    assert not torch.allclose(again["source"], seen[0])  # dropout is really on


def test_a_batch_no_larger_than_the_chunk_runs_plain(tiny_model, monkeypatch):
    from interlingua.losses import gradcache

    calls = []
    monkeypatch.setattr(gradcache, "cached_forward", lambda *args: calls.append(args))
    loss = TranslationRankingLoss(tiny_model)
    loss.configure(cache_chunk_size=len(PAIRS_SOURCES))
    loss(columns(tiny_model, [PAIRS_SOURCES, PAIRS_TARGETS]))
    assert not calls


def test_cached_loss_without_gradient_gives_the_values(tiny_model):
    model = tiny_model.eval()
    loss = EMSLoss(model, LANGUAGES, language_dim=4, projection_dim=8).eval()
    features = [PAIRS_SOURCES, PAIRS_TARGETS]
    with torch.no_grad():
        plain = loss(columns(model, features), ROW_LANGUAGES)
        loss.configure(cache_chunk_size=CHUNK)
        cached = loss(columns(model, features), ROW_LANGUAGES)
    assert all(cached[k].item() == pytest.approx(plain[k].item(), abs=1e-5) for k in plain)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_cache_chunk_size_must_be_a_positive_whole_number(tiny_model, size):
    with pytest.raises(ConfigError, match="cache_chunk_size"):
        TranslationRankingLoss(tiny_model).configure(cache_chunk_size=size)
