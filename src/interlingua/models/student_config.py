"""The settings of ``interlingua student`` and the checks made before any work (light imports only:
``interlingua student --help`` reads them without loading torch)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from interlingua.data.corpora import TRAINING_CORPORA
from interlingua.errors import ConfigError
from interlingua.validation import setting

LAYER_CHOICES = ("first", "even")


def layer_indices(total: int, layers: int, choice: str = "first") -> list[int]:
    """Which of the teacher's ``total`` layers a student of ``layers`` layers keeps."""
    if choice not in LAYER_CHOICES:
        raise ConfigError(f"unknown layer choice {choice!r}; choose {' or '.join(LAYER_CHOICES)}")
    if not 1 <= layers <= total:
        raise ConfigError(f"--layers {layers}: the teacher has {total} layers (choose 1 to {total})")
    if choice == "first" or layers == 1:
        return list(range(layers))
    return sorted({round(i * (total - 1) / (layers - 1)) for i in range(layers)})


@dataclass
class StudentConfig:
    """Every setting of ``interlingua student`` (each is the flag of the same name)."""

    teacher: str = setting("", "the teacher: a sentence-transformers or transformers folder, or a hub name")
    langs: list[str] = setting(list, "languages the student is for (any registry code or named set)")
    output: str = setting("", "folder to write the student to (must not exist yet, or be empty)")
    layers: int | None = setting(None, "keep this many of the teacher's layers (default: all)", minimum=1)
    layer_choice: str = setting(
        "first", "which layers: first (0..N-1) or even (evenly spaced, first to last)", choices=LAYER_CHOICES
    )
    static: bool = setting(False, "a static student (one vector per piece, no transformer)")
    dims: int | None = setting(
        None, "static: PCA width (default: the teacher's width, no reduction)", minimum=1
    )
    sif: float = setting(1e-4, "static: SIF coefficient a of the weights a / (a + frequency)", above=0.0)
    text: str | None = setting(
        None, "count the pieces on this text file (one sentence a line) instead of corpora"
    )
    data_root: str | None = setting(None, "folder of the shared corpora (default: $INTERLINGUA_DATA)")
    corpora: list[str] = setting(
        lambda: list(TRAINING_CORPORA), "training corpora whose text the pieces are counted on"
    )
    max_lines_per_language: int = setting(
        200000, "lines of each language (and of English) counted at most", minimum=1
    )


def _teacher_config(teacher: str) -> dict | None:
    """The teacher's transformers config, read without loading it (None for a hub name)."""
    path = Path(teacher)
    if not path.exists():
        if teacher.startswith((".", "/", "~")) or teacher.count("/") > 1:
            raise ConfigError(f"--teacher {teacher}: no such folder")
        return None
    if not (path / "tokenizer.json").is_file():
        raise ConfigError(
            f"--teacher {teacher}: no tokenizer.json in the folder; a student needs the teacher's fast "
            "tokenizer (save it with tokenizer.save_pretrained(FOLDER))"
        )
    config = path / "config.json"
    return json.loads(config.read_text(encoding="utf-8")) if config.is_file() else None


def check_student_config(config: StudentConfig) -> None:
    """Every mistake found before the teacher is loaded or a line is read."""
    if not config.teacher:
        raise ConfigError("no teacher: pass --teacher PATH_OR_HUB_NAME")
    if not config.output:
        raise ConfigError("no output folder: pass --output DIR")
    output = Path(config.output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ConfigError(f"--output {output}: exists and is not an empty folder; choose a new one")
    if config.static and config.layers is not None:
        raise ConfigError("--static and --layers exclude each other: a static student has no layers")
    if config.dims is not None and not config.static:
        raise ConfigError("--dims applies to static students (--static) only")
    if not config.text and not config.langs:
        raise ConfigError("no languages: pass --langs (e.g. --langs deu,fra) or --text FILE")
    if config.text and not Path(config.text).is_file():
        raise ConfigError(f"--text {config.text}: no such file")
    teacher = _teacher_config(config.teacher)
    total = (teacher or {}).get("num_hidden_layers")
    if config.layers is not None and total is not None:
        layer_indices(total, config.layers, config.layer_choice)
