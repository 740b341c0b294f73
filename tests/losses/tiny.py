"""Shared values of the loss tests: a tiny corpus, its languages, and a gradient probe."""

from __future__ import annotations

import torch

SOURCES = ["hallo welt, das ist ein test.", "die katze sitzt auf der matte", "bonjour le monde !"]
TARGETS = ["hello world, this is a test.", "the cat sits on the mat", "hello world !"]
LANGUAGES = ["eng", "deu", "fra"]  # the pivot first, as training_languages orders them
ROW_LANGUAGES = torch.tensor([1, 1, 2])


def encoder_gradient(model) -> float:
    """Total absolute gradient on the encoder's first layer (0 when nothing reached it)."""
    layer = model[0].auto_model.encoder.layer[0]
    return sum(p.grad.abs().sum().item() for p in layer.parameters() if p.grad is not None)
