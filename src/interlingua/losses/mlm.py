"""Masked language modelling: the vocabulary head and the standard 15% / 80-10-10 corruption.

Used by ML-CTL (its 0.1 x MLM term) and, for the head alone, by DAP's RTL.

    head(h) = E LayerNorm(act(W h + b)) + b_out        (E tied to the encoder's input embeddings)

BERT's MLM prediction head, built fresh: encoders trained from scratch have none, and pretrained
sentence encoders such as multilingual-e5 ship without theirs.  The tied table E is the
encoder's own, so only W, b, the LayerNorm and b_out are training-only tensors.

Corruption (Devlin et al. 2019): each real, non-special piece is selected with probability 0.15;
a selected piece becomes ``<mask>`` with probability 0.8, a random piece with 0.1, and stays as
it is with 0.1.  The loss is the cross-entropy at the selected positions only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers.activations import ACT2FN

IGNORE = -100  # label of a position that carries no loss (cross_entropy's ignore_index)


class MLMHead(nn.Module):
    """BERT's MLM prediction head with the output layer tied to ``output_embeddings``."""

    def __init__(self, hidden: int, vocab_size: int, activation: str = "gelu") -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.activation = ACT2FN[activation]
        self.norm = nn.LayerNorm(hidden)
        self.output_bias = nn.Parameter(torch.zeros(vocab_size))

    def transform(self, states: Tensor) -> Tensor:
        """LayerNorm(act(W h + b)): the states the output layer scores."""
        return self.norm(self.activation(self.dense(states)))

    def forward(self, states: Tensor, output_embeddings: Tensor) -> Tensor:
        return self.transform(states) @ output_embeddings.T + self.output_bias


def mask_for_mlm(
    input_ids: Tensor,
    attention_mask: Tensor,
    *,
    mask_id: int,
    special_ids: Tensor,
    vocab_size: int,
    probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """(corrupted ids, labels): labels hold the original piece where selected, else ``IGNORE``."""
    device = input_ids.device
    candidates = attention_mask.bool() & ~torch.isin(input_ids, special_ids.to(device))
    draw = torch.rand(input_ids.shape, generator=generator, device=device)
    selected = candidates & (draw < probability)
    labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE))
    # One more uniform draw splits the selected positions 80 / 10 / 10.
    action = torch.rand(input_ids.shape, generator=generator, device=device)
    random_ids = torch.randint(0, vocab_size, input_ids.shape, generator=generator, device=device)
    corrupted = torch.where(selected & (action < 0.8), torch.full_like(input_ids, mask_id), input_ids)
    corrupted = torch.where(selected & (action >= 0.8) & (action < 0.9), random_ids, corrupted)
    return corrupted, labels


def mlm_loss(head: MLMHead, states: Tensor, labels: Tensor, output_embeddings: Tensor) -> Tensor:
    """Cross-entropy at the labelled positions; the vocabulary projection runs only there."""
    selected = labels != IGNORE
    if not selected.any():
        return states.sum() * 0.0  # keeps the graph (and the step) valid when nothing was selected
    logits = head(states[selected], output_embeddings)
    return F.cross_entropy(logits.float(), labels[selected])
