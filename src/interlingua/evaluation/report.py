"""Presenting results: terminal tables, the JSON result file, side-by-side comparison, the plot.

A result file is JSON.  A single-task run writes that task's block at the top level (so a Tatoeba
file has ``average`` and ``per_language`` at the top); ``eval all`` writes ``{"tasks": {name:
block}}``.  Both carry ``provenance``.  Every task block has ``task``, ``protocol`` (one sentence
saying exactly what was measured), ``settings``, ``data_files`` (relative path -> SHA-256),
``summary`` (headline numbers, ``{label: value}``, what ``compare`` lines up) and, where the task
has one score per language, ``per_language`` and ``metric`` (the key of the per-language score that
the plot shows).
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from interlingua import atomic
from interlingua.errors import ConfigError, DataError

_AVERAGE_COLOURS = ("#dd8452", "#55a868", "#c44e52")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> str:
    """A plain-text table: first column left-aligned, the others right-aligned; floats to 1 decimal."""
    cells = [[_format_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        first, *rest = values
        return "  ".join(
            [first.ljust(widths[0]), *(v.rjust(w) for v, w in zip(rest, widths[1:], strict=True))]
        )

    rule = "-" * len(line(list(headers)))
    body = [line(list(headers)), rule, *(line(row) for row in cells)]
    return "\n".join([title, *body] if title else body)


def _format_cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.1f}"
    return str(value)


def write_json(document: Mapping[str, Any], path: str | Path) -> None:
    """Write a result document as indented UTF-8 JSON."""
    atomic.write_json(path, document, indent=1)


def load_result_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """The task blocks of a result file, ``{task: block}``, whether it holds one task or all."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: result file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(path, f"not a JSON result file: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("tasks"), dict):
        return document["tasks"]
    if isinstance(document, dict) and "task" in document and "summary" in document:
        return {document["task"]: document}
    raise DataError(path, "not an interlingua evaluation result (no 'tasks' or 'task' and 'summary' keys)")


def model_label(path: str | Path) -> str:
    """The model a result file was computed with (its provenance), else the file name."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return str(document["provenance"]["model"]["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return Path(path).stem


def compare_table(paths: Sequence[str | Path], *, per_language: bool = False) -> str:
    """Side-by-side table of several result files: one column per file, one row per headline number,
    and the encoding speed each file's run measured (sentences/s, and relative to the first file).

    With ``per_language``, also one row per task and language (the score the task plots).  A number
    a file does not have shows as ``-``.
    """
    results = [load_result_file(path) for path in paths]
    row_labels: list[tuple[str, str]] = []
    for tasks in results:
        for task, block in tasks.items():
            for label in block["summary"]:
                if (task, label) not in row_labels:
                    row_labels.append((task, label))
    rows = [
        [f"{task}: {label}", *(tasks.get(task, {}).get("summary", {}).get(label) for tasks in results)]
        for task, label in row_labels
    ]
    if per_language:
        for task in dict.fromkeys(task for tasks in results for task in tasks):
            languages = dict.fromkeys(
                language for tasks in results for language in tasks.get(task, {}).get("per_language", {})
            )
            for language in languages:
                rows.append(
                    [f"{task}: {language}", *(_language_score(tasks, task, language) for tasks in results)]
                )
    speeds = [encoding_speed(path) for path in paths]
    if any(speeds):
        rows.append(["encoding: sentences/s", *(round(speed, 1) if speed else None for speed in speeds)])
        if speeds[0]:
            rows.append(["encoding: speed / [1]", *(round(s / speeds[0], 2) if s else None for s in speeds)])
    headers = ["", *(f"[{number}] {model_label(path)}" for number, path in enumerate(paths, start=1))]
    return format_table(headers, rows)


def encoding_speed(path: str | Path) -> float | None:
    """Distinct sentences encoded per second while the file's results were computed (its provenance)."""
    try:
        encoding = json.loads(Path(path).read_text(encoding="utf-8"))["provenance"]["encoding"]
        return encoding["distinct_sentences"] / encoding["seconds"] if encoding["seconds"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _language_score(tasks: Mapping[str, Any], task: str, language: str) -> float | None:
    block = tasks.get(task)
    if block is None or language not in block.get("per_language", {}):
        return None
    return block["per_language"][language][block["metric"]]


def plot_per_language(tasks: Mapping[str, Mapping[str, Any]], path: str | Path, *, title: str) -> None:
    """One PNG: a panel per task with per-language scores, bars sorted, averages as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(name, block) for name, block in tasks.items() if block.get("per_language")]
    if not panels:
        raise ConfigError("nothing to plot: no task with per-language scores")
    widths = [max(4.0, 0.16 * len(block["per_language"])) for _, block in panels]
    figure, axes = plt.subplots(len(panels), 1, figsize=(max(widths) + 1, 3.6 * len(panels)), squeeze=False)
    for axis, (name, block) in zip(axes[:, 0], panels, strict=True):
        metric = block["metric"]
        scores = sorted(
            ((language, values[metric]) for language, values in block["per_language"].items()),
            key=lambda item: item[1],
            reverse=not block.get("lower_is_better", False),
        )
        axis.bar(range(len(scores)), [score for _, score in scores], color="#4c72b0")
        axis.set_xticks(range(len(scores)), [language for language, _ in scores], rotation=90, fontsize=7)
        axis.set_xlim(-0.6, len(scores) - 0.4)
        for label, colour in zip(block.get("plotted_averages", ()), _AVERAGE_COLOURS, strict=False):
            value = block["summary"].get(label)
            if value is not None:
                axis.axhline(value, color=colour, linestyle="--", linewidth=1, label=f"{label}: {value:.1f}")
        axis.set_ylabel(block.get("metric_label", metric), fontsize=8)
        width_in_characters = int(14 * figure.get_figwidth())
        axis.set_title(
            textwrap.fill(f"{name}: {block['protocol']}", width_in_characters), fontsize=7, loc="left"
        )
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7, loc="lower left" if not block.get("lower_is_better") else "upper left")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    atomic.write_with(path, lambda temporary: figure.savefig(temporary, dpi=110))
    plt.close(figure)
