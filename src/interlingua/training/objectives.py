"""Objective names (the ``objective`` key of a recipe) and the loss module each one builds."""

from __future__ import annotations

from collections.abc import Callable

from sentence_transformers import SentenceTransformer
from torch import nn

from interlingua.errors import ConfigError
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.training.config import TrainConfig


def _translation_ranking(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    return TranslationRankingLoss(
        model, scale=config.scale, margin=config.margin, bidirectional=config.bidirectional
    )


OBJECTIVES: dict[str, Callable[[SentenceTransformer, TrainConfig], nn.Module]] = {
    "translation_ranking": _translation_ranking,
}


def build_objective(model: SentenceTransformer, config: TrainConfig) -> nn.Module:
    if config.objective not in OBJECTIVES:
        raise ConfigError(
            f"unknown objective {config.objective!r}; available: {', '.join(sorted(OBJECTIVES))}"
        )
    return OBJECTIVES[config.objective](model, config)
