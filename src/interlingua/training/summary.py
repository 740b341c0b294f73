"""What a finished run leaves beside its model: the run record (``training_summary.json``) and the
model card (``README.md``, with Hugging Face metadata)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from interlingua import __version__
from interlingua.atomic import write_json, write_text
from interlingua.data.parallel import ParallelCorpus
from interlingua.provenance import package_versions, utc_now
from interlingua.training.config import TrainConfig
from interlingua.training.objectives import OBJECTIVE_KEYS, objective


@dataclass
class TrainingRun:
    """What a finished run produced."""

    output: Path
    steps: int
    seconds: float
    pairs_seen: int
    stopped_by_budget: bool
    corpora: list[dict]
    negatives: dict | None = None  # processes, pairs per process, effective negatives per query


def corpus_records(corpora: list[ParallelCorpus]) -> list[dict[str, Any]]:
    """The corpora of a run as its record lists them."""
    return [
        {
            "name": c.name,
            "src_lang": c.src_lang,
            "tgt_lang": c.tgt_lang,
            "pairs": len(c),
            "skipped_empty": c.skipped_empty,
            "files": list(c.sources),
        }
        for c in corpora
    ]


def write_summary(config: TrainConfig, run: TrainingRun, results: dict | None) -> Path:
    """``training_summary.json`` (provenance) and the model card ``README.md`` in the output folder."""
    summary = {
        "interlingua_version": __version__,
        "date": utc_now(),
        "versions": package_versions(),
        "config": dataclasses.asdict(config),
        "steps": run.steps,
        "train_seconds": round(run.seconds, 1),
        "pairs_seen": run.pairs_seen,
        "stopped_by_budget": run.stopped_by_budget,
        "negatives": run.negatives,
        "corpora": run.corpora,
        "results": results,
    }
    path = run.output / "training_summary.json"
    write_json(path, summary)
    write_text(run.output / "README.md", model_card(config, run, results))
    return path


def card_settings(config: TrainConfig) -> dict[str, Any]:
    """The settings a model card lists: every key but those of other objectives than the run's."""
    own = set(objective(config).settings(config))
    return {
        key: value
        for key, value in dataclasses.asdict(config).items()
        if key not in OBJECTIVE_KEYS or key in own
    }


def card_metadata(config: TrainConfig, run: TrainingRun, results: dict | None) -> dict[str, Any]:
    """The card's front matter, with the Hugging Face ``model-index`` of its Tatoeba results."""
    name = f"interlingua encoder ({config.recipe or config.objective})"
    metadata: dict[str, Any] = {
        "library_name": "sentence-transformers",
        "tags": ["sentence-transformers", "sentence-similarity", "interlingua"],
        "language": sorted({c["src_lang"] for c in run.corpora}) + [config.pivot],
    }
    scores = {label: value for label, value in (results or {}).items() if value is not None}
    if scores:
        metrics = [{"type": "accuracy", "name": label, "value": value} for label, value in scores.items()]
        metadata["model-index"] = [
            {
                "name": name,
                "results": [
                    {
                        "task": {"type": "bitext-mining", "name": "Bitext mining"},
                        "dataset": {"type": "tatoeba", "name": "Tatoeba (LASER test sets)"},
                        "metrics": metrics,
                    }
                ],
            }
        ]
    return metadata


def model_card(config: TrainConfig, run: TrainingRun, results: dict | None) -> str:
    """The ``README.md`` of a trained model: metadata, how to load it, its data, settings and results."""
    front = yaml.safe_dump(card_metadata(config, run, results), sort_keys=False, allow_unicode=True)
    lines = [
        "---",
        front.rstrip("\n"),
        "---",
        f"# interlingua encoder ({config.recipe or config.objective})",
        "",
        f"Trained with interlingua {__version__}: objective `{config.objective}`, "
        f"{run.steps} steps of {config.batch_size} pairs ({run.pairs_seen:,} pairs seen) "
        f"in {run.seconds / 60:.1f} min.",
        "",
        "```python",
        "from sentence_transformers import SentenceTransformer",
        "model = SentenceTransformer('PATH_TO_THIS_FOLDER')",
        "```",
        "",
        "## Training data",
        "",
        "| corpus | pair | pairs | empty lines skipped |",
        "|---|---|---|---|",
        *(
            f"| {c['name']} | {c['src_lang']}-{c['tgt_lang']} | {c['pairs']:,} | {c['skipped_empty']} |"
            for c in run.corpora
        ),
        "",
        "## Settings",
        "",
        "```yaml",
        *(f"{key}: {value}" for key, value in card_settings(config).items()),
        "```",
    ]
    if results:
        lines += ["", "## Results", "", "Tatoeba accuracy (%):", "", "| metric | value |", "|---|---|"]
        lines += [f"| {label} | {_number(value)} |" for label, value in results.items()]
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
