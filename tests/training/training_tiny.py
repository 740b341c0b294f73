"""The tiny translation-ranking run shared by the checkpoint, guard and resume tests.

Two languages of TICO-19, 48 pairs each, a one-layer d=32 encoder: a few steps take seconds, and
three steps cross an epoch boundary (48 x 2 / 16 = 6 batches an epoch).
"""

TINY_TR = {
    "recipe": "tr",
    "langs": "fra,spa",
    "corpora": "tico19",
    "max_pairs_per_language": 48,
    "layers": 1,
    "hidden": 32,
    "heads": 2,
    "ffn": 64,
    "vocab_size": 600,
    "batch_size": 16,
    "checkpoint_every": 2,
    "log_every": 1,
}


def as_flags(config: dict) -> list[str]:
    """``--key=value`` command-line flags for a config dict."""
    return [f"--{key.replace('_', '-')}={value}" for key, value in config.items()]
