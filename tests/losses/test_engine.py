"""What a loss knows of itself: its training-only heads apart from the encoder it wraps."""

from __future__ import annotations

import pytest

from interlingua.errors import ConfigError
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.losses.xtr import XTRLoss

from .tiny import LANGUAGES


def test_head_state_and_parameters_leave_the_encoder_out(tiny_model) -> None:
    loss = XTRLoss(tiny_model, head="ems", languages=LANGUAGES, language_dim=4)
    state = loss.head_state()
    assert state and not any(key.startswith("model.") for key in state)
    head_tensors = {id(value) for value in loss.predictor.parameters()}
    assert {id(p) for p in loss.head_parameters()} == head_tensors
    assert TranslationRankingLoss(tiny_model).head_state() == {}


def test_heads_of_another_objective_are_refused(tiny_model) -> None:
    loss = XTRLoss(tiny_model, head="ems", languages=LANGUAGES, language_dim=4)
    loss.load_head_state(loss.head_state(), "same.safetensors")  # its own heads load back
    with pytest.raises(ConfigError, match="other.safetensors: training heads do not match"):
        TranslationRankingLoss(tiny_model).load_head_state(loss.head_state(), "other.safetensors")
