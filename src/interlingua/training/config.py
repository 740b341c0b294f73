"""Training configuration: one flat set of keys shared by recipes, YAML files and the CLI.

Every key of ``TrainConfig`` is a YAML key and a command-line flag of the same name
(``max_steps`` <-> ``--max-steps``).  Values are layered: the dataclass defaults, then the recipe
named by ``recipe`` (a YAML file shipped in ``interlingua/training/recipes/``), then the user's
``--config`` file, then the flags given on the command line.  Unknown keys are an error that
suggests the closest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from interlingua.atomic import write_text
from interlingua.data.languages import parse_language_list
from interlingua.data.parallel import find_user_pairs
from interlingua.errors import ConfigError
from interlingua.validation import BOUND_KEYS, check_model_reference, check_value
from interlingua.validation import setting as _key


@dataclass
class TrainConfig:
    """Every setting of a training run (see each field's help)."""

    # What and where
    recipe: str | None = _key(None, "recipe to start from (a name from `interlingua train --list-recipes`)")
    output: str | None = _key(None, "output folder: the final sentence-transformers model and checkpoints")
    data_root: str | None = _key(None, "folder of the shared corpora (default: $INTERLINGUA_DATA)")
    langs: list[str] = _key(
        list,
        "languages read from the shared --corpora, paired with the pivot: any registry code or named set",
        list_of=str,
    )
    corpora: list[str] = _key(
        lambda: ["tatoeba_challenge"],
        "training corpora in the data root: tatoeba_challenge, wmt, tico19, bible",
        list_of=str,
    )
    pairs: list[str] = _key(
        list,
        "your own parallel text, alone or with --langs: folders of pairs, xx-yy.tsv files, or one file "
        "of each aligned pair xx-yy.xx + xx-yy.yy (compressed or not); pairs without the pivot are skipped",
        list_of=str,
    )
    pivot: str = _key("eng", "the language every training pair has on its target side")
    max_pairs_per_language: int | None = _key(None, "cap on pairs read per language and corpus", minimum=1)
    sampling_temperature: float = _key(
        1.0, "temperature T of sampling across language pairs (EMS: 5)", above=0
    )
    streaming: str | None = _key(
        None,
        "stream the training pairs from this shard folder (`interlingua data shard`) instead of reading "
        "--langs into memory; needs --max-steps or --budget (docs/streaming.md)",
    )
    shuffle_buffer: int = _key(
        10000, "streaming: pairs shuffled together (the memory each DataLoader worker holds)", minimum=1
    )
    # Objective
    objective: str = _key("translation_ranking", "training objective (loss) of the recipe")
    scale: float = _key(20.0, "inverse temperature of contrastive scores (20 = tau 0.05)", above=0)
    margin: float = _key(0.0, "additive margin on the positive score (LaBSE: 0.3)", minimum=0)
    bidirectional: bool = _key(True, "rank in both directions (x->y and y->x)")
    xtr_head: str = _key(
        "lightweight",
        "XTR/UGT prediction head: lightweight (tied to the input embeddings) or ems (language embedding)",
        choices=("lightweight", "ems"),
    )
    language_embedding_dim: int = _key(128, "EMS head: width of the language embedding", minimum=1)
    ugt_mask_weight: float = _key(
        0.5, "UGT: share of the masked piece in the masked side's target", minimum=0, maximum=1
    )
    align_weight: float = _key(2.0, "Lightweight: weight of ALIGN", minimum=0)
    sim_weight: float = _key(2.0, "Lightweight: weight of SIM", minimum=0)
    contrastive_weight: float = _key(2.0, "EMS: weight of the contrastive loss", minimum=0)
    projection_dim: int = _key(128, "EMS: output width of the training-only projection head", minimum=1)
    rtl_weight: float = _key(0.1, "DAP: weight of RTL (code 0.1, paper 1)", minimum=0)
    rtl_layers: int = _key(
        2, "DAP: transformer layers of the RTL head, copied from the encoder's last ones", minimum=1
    )
    rtl_vocabulary: str = _key(
        "english",
        "RTL: the pieces its softmax covers: english (the pivot-side pieces of the training data, as the "
        "DAP training scripts) or full (the whole vocabulary)",
        choices=("english", "full"),
    )
    token_term: str = _key(
        "xtr",
        "tr_plus: the token-level term added to translation ranking: xtr, ugt, rtl or word (ML-CTL's "
        "word-level contrastive term)",
        choices=("xtr", "ugt", "rtl", "word"),
    )
    token_weight: float = _key(0.1, "tr_plus: weight of the token-level term", minimum=0)
    lexicon: str | None = _key(
        None, "ML-CTL: bilingual lexicon TSV (source word, English word); default: mutual-argmax alignment"
    )
    cross_zero: bool = _key(True, "ML-CTL: CZ-NCE (positive left out of the denominator); false: InfoNCE")
    sentence_weight: float = _key(1.0, "ML-CTL: weight of the sentence-level contrastive loss", minimum=0)
    word_weight: float = _key(1.0, "ML-CTL: weight of the word-level contrastive loss", minimum=0)
    mlm_weight: float = _key(0.1, "ML-CTL: weight of masked language modelling", minimum=0)
    mlm_probability: float = _key(0.15, "ML-CTL: share of pieces masked for MLM", above=0, below=1)
    teacher: str | None = _key(
        None, "distillation: the teacher, any sentence-transformers model folder or name"
    )
    teacher_prefix: str = _key("", "distillation: text prepended to the teacher's input (e5: 'query: ')")
    teacher_cache: str | None = _key(
        None,
        "distillation: folder of cached teacher embeddings, one file per teacher, prefix and data set "
        "(default: $INTERLINGUA_CACHE/teacher, or ~/.cache/interlingua/teacher)",
    )
    distill_weight: float = _key(1.0, "distillation: weight of each distance-to-the-teacher term", minimum=0)
    ranking_weight: float = _key(
        1.0, "distillation: weight of translation ranking on the student's own embeddings", minimum=0
    )
    distill_center: bool = _key(
        True,
        "distillation: compare centred directions (batch mean removed) instead of the paper's plain MSE, "
        "so that the teacher's common direction cannot be learnt in place of its meaning",
    )
    # Model
    pretrained: str | None = _key(
        None, "start from this pretrained encoder (folder or hub name) instead of scratch"
    )
    layers: int = _key(2, "transformer layers of a from-scratch encoder", minimum=1)
    hidden: int = _key(512, "hidden size of a from-scratch encoder", minimum=1)
    heads: int = _key(8, "attention heads of a from-scratch encoder", minimum=1)
    ffn: int = _key(1024, "feed-forward size of a from-scratch encoder", minimum=1)
    activation: str = _key("silu", "activation of a from-scratch encoder (silu = swish)")
    dropout: float = _key(0.1, "dropout of a from-scratch encoder", minimum=0, below=1)
    # Three pieces: the start and end markers and one piece of text.
    max_length: int = _key(64, "maximum pieces per sentence", minimum=3)
    pooling: str = _key("mean", "sentence pooling: mean or cls", choices=("mean", "cls"))
    max_positions: int = _key(
        512,
        "position table of a from-scratch encoder: the longest sentence it can ever take (max_length, what "
        "it trains and encodes at, may grow up to it)",
        minimum=1,
    )
    # Tokenizer (from-scratch encoders)
    # The special tokens and an alphabet need room before the first merge.
    vocab_size: int = _key(32000, "joint vocabulary size", minimum=100)
    tokenizer_model: str = _key("bpe", "bpe or unigram", choices=("bpe", "unigram"))
    lowercase: bool = _key(True, "lower-case text before tokenising")
    tokenizer_lines_per_language: int = _key(
        20000, "lines per language the vocabulary is trained on", minimum=1
    )
    # Optimisation
    batch_size: int = _key(
        128,
        "translation pairs per optimiser step, split evenly over the processes of a multi-process run "
        "(with --streaming: per process)",
        minimum=1,
    )
    gather_negatives: bool = _key(
        False,
        "multi-process runs: rank each query against the pairs of every process (the whole batch) "
        "instead of its own process's share (DAP, LaBSE: yes; EMS: no)",
    )
    cache_chunk_size: int | None = _key(
        None,
        "GradCache: encode the batch in chunks of this many pairs, so that a large batch fits in memory "
        "with the same loss and gradients (default: off, one pass)",
        minimum=1,
    )
    learning_rate: float = _key(1e-3, "peak learning rate", above=0)
    weight_decay: float = _key(1e-5, "weight decay", minimum=0)
    amsgrad: bool = _key(False, "use AMSGrad (the Lightweight and EMS papers do)")
    warmup: float = _key(0.05, "warm-up: steps if >= 1, else a fraction of the run", minimum=0)
    schedule: str = _key(
        "linear",
        "learning-rate decay after warm-up: linear, cosine or constant",
        choices=("linear", "cosine", "constant"),
    )
    max_steps: int | None = _key(None, "stop after this many optimiser steps", minimum=1)
    budget: str | None = _key(None, "stop after this much training time, e.g. 20m, 90s, 1h30m")
    budget_clock: str = _key(
        "wall",
        "what --budget counts: wall (elapsed time) or cpu (this process's CPU time, all threads; "
        "fair between runs on a shared machine)",
        choices=("wall", "cpu"),
    )
    threads: int | None = _key(
        None, "CPU threads for torch (default: torch's choice, one per core)", minimum=1
    )
    bf16: bool = _key(
        False, "bfloat16 autocast (1.8x the pairs per CPU-second on CPUs with AMX; slower without)"
    )
    seed: int = _key(42, "random seed (data order, initialisation, dropout)", minimum=0)
    # Bookkeeping
    checkpoint_every: int = _key(500, "save a checkpoint every N steps", minimum=1)
    log_every: int = _key(10, "log the loss every N steps", minimum=1)
    resume: bool = _key(False, "continue from the last checkpoint in the output folder")
    on_nonfinite: str = _key(
        "stop",
        "on a NaN or infinite loss: stop the run, or skip the batch (no update); both save the batch",
        choices=("stop", "skip"),
    )
    eval_langs: list[str] | None = _key(
        None,
        "Tatoeba languages to score after training (default: the trained ones that have a test set)",
        list_of=str,
    )
    eval_every: int | None = _key(
        None,
        "also score --eval-set on --eval-langs every N steps of training (default: only after)",
        minimum=1,
    )
    eval_set: str = _key(
        "tatoeba",
        "what --eval-every scores: tatoeba (accuracy %) or flores (FLORES-200 xSIM error %)",
        choices=("tatoeba", "flores"),
    )

    def budget_seconds(self) -> float | None:
        return None if self.budget is None else parse_duration(self.budget)


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str | float | int) -> float:
    """Seconds in '20m', '90s', '1h30m', '45' (seconds)."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match or not any(match.groups()):
        raise ConfigError(f"cannot read duration {text!r}: write e.g. 20m, 90s or 1h30m")
    hours, minutes, seconds = (float(group) if group else 0.0 for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
HINTS = typing.get_type_hints(TrainConfig)


def available_recipes() -> list[str]:
    folder = resources.files("interlingua.training") / "recipes"
    return sorted(
        entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml")
    )


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values")
    return values


def recipe_values(name: str) -> dict[str, Any]:
    """The keys a shipped recipe sets."""
    if name not in available_recipes():
        close = difflib.get_close_matches(name, available_recipes(), n=3)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f"; available: {', '.join(available_recipes())}"
        )
        raise ConfigError(f"unknown recipe {name!r}{hint}")
    text = (resources.files("interlingua.training") / "recipes" / f"{name}.yaml").read_text(encoding="utf-8")
    return _read_yaml(text, f"recipe {name}")


def _check_keys(values: dict[str, Any], source: str) -> None:
    for key in values:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{source}: unknown key {key!r}{hint}")


def _coerce(key: str, value: Any) -> Any:
    """Accept comma-separated strings for list keys (YAML and CLI alike)."""
    if value is not None and FIELDS[key].metadata.get("list_of") and isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def build_config(
    *,
    recipe: str | None = None,
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """Layer defaults < recipe < config file < overrides into a ``TrainConfig``."""
    layers: list[tuple[str, dict[str, Any]]] = []
    file_values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        file_values = _read_yaml(path.read_text(encoding="utf-8"), str(path))
        _check_keys(file_values, str(path))
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    _check_keys(overrides, "command line")
    recipe = overrides.get("recipe") or recipe or file_values.get("recipe")
    if recipe:
        recipe_keys = recipe_values(recipe)
        _check_keys(recipe_keys, f"recipe {recipe}")
        layers.append((f"recipe {recipe}", {**recipe_keys, "recipe": recipe}))
    layers += [(str(config_file), file_values), ("command line", overrides)]
    merged: dict[str, Any] = {}
    for source, values in layers:
        merged.update({key: _checked(key, _coerce(key, value), source) for key, value in values.items()})
    config = TrainConfig(**merged)
    check_meaning(config)
    return config


def _checked(key: str, value: Any, source: str) -> Any:
    """``value`` checked against the field's type hint and the bounds in its metadata."""
    bounds = {name: FIELDS[key].metadata[name] for name in BOUND_KEYS if name in FIELDS[key].metadata}
    return check_value(key, value, HINTS[key], bounds, source)


def check_meaning(config: TrainConfig) -> None:
    """The checks a value's type and range cannot express, all cheap: they run before any data is
    read or model loaded, so that a mistake costs nothing."""
    try:
        budget = config.budget_seconds()
    except ConfigError as error:
        raise ConfigError(f"budget: {error}") from None
    if budget is not None and budget <= 0:
        raise ConfigError(f"budget must be more than 0 seconds, not {config.budget!r}")
    for key in ("langs", "eval_langs"):
        if getattr(config, key):
            parse_language_list(getattr(config, key))
    parse_language_list([config.pivot])
    for path in config.pairs:  # names and partner files only: the text is read with the corpora
        find_user_pairs(path, pivot=config.pivot)
    if config.pretrained:
        check_model_reference(config.pretrained, "--pretrained")
    if config.hidden % config.heads:
        raise ConfigError(f"hidden ({config.hidden}) must be a multiple of heads ({config.heads})")


def save_config(config: TrainConfig, path: str | Path) -> None:
    write_text(path, yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
