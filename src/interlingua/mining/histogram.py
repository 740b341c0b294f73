"""Score histograms of mined candidates, as PNG (matplotlib, Agg backend: no display needed).

The histogram is how a threshold is chosen by eye: true translations form a high-scoring mode
separated from the bulk of unrelated pairs.  With gold pairs (calibration) the two populations are
drawn separately, with the chosen threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from interlingua.atomic import write_with


def plot_score_histogram(
    scores: np.ndarray,
    path: Path,
    *,
    gold: np.ndarray | None = None,
    threshold: float | None = None,
    title: str = "Margin scores of mined candidates",
    bins: int = 100,
) -> None:
    """Save a histogram of ``scores``; ``gold`` (bool per score) splits it into gold and other pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = np.asarray(scores, dtype=np.float64)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    edges = np.histogram_bin_edges(scores, bins=bins) if len(scores) else np.linspace(0, 1, bins + 1)
    if gold is None:
        axes.hist(scores, bins=edges, color="tab:blue", label=f"candidates ({len(scores):,})")
    else:
        gold = np.asarray(gold, dtype=bool)
        axes.hist(
            scores[~gold], bins=edges, color="tab:gray", alpha=0.7, label=f"not in gold ({(~gold).sum():,})"
        )
        axes.hist(
            scores[gold], bins=edges, color="tab:green", alpha=0.8, label=f"gold pairs ({gold.sum():,})"
        )
    if threshold is not None:
        axes.axvline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:.4f}")
    axes.set_yscale("log")
    axes.set_xlabel("margin score")
    axes.set_ylabel("pairs (log scale)")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    write_with(path, lambda temporary: figure.savefig(temporary, dpi=100))
    plt.close(figure)
