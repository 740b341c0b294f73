"""The model card: only the settings of the run's own objective, results as a table and as Hugging
Face ``model-index`` metadata."""

from __future__ import annotations

from pathlib import Path

import yaml

from interlingua.training.config import build_config
from interlingua.training.summary import TrainingRun, model_card

RUN = TrainingRun(
    output=Path("model"),
    steps=10,
    seconds=60.0,
    pairs_seen=1280,
    stopped_by_budget=False,
    corpora=[{"name": "tico19", "src_lang": "fra", "tgt_lang": "eng", "pairs": 40, "skipped_empty": 0}],
)
RESULTS = {"average (2 languages)": 91.25, "xtreme36 average (1 of 36)": 90.5}


def settings(card: str) -> set[str]:
    block = card.split("## Settings")[1].split("```yaml\n")[1].split("```")[0]
    return {line.split(":")[0] for line in block.splitlines()}


def test_the_card_lists_the_settings_of_its_own_objective_only() -> None:
    dap = settings(model_card(build_config(recipe="dap"), RUN, None))
    assert {"rtl_weight", "rtl_layers", "margin", "batch_size", "learning_rate"} <= dap
    assert not dap & {"xtr_head", "contrastive_weight", "mlm_weight", "teacher", "token_term"}
    tr_plus = settings(
        model_card(build_config(overrides={"objective": "tr_plus", "token_term": "ugt"}), RUN, None)
    )
    assert {"token_term", "token_weight", "xtr_head", "ugt_mask_weight"} <= tr_plus
    assert not tr_plus & {"rtl_layers", "lexicon"}


def test_results_are_a_table_and_model_index_metadata() -> None:
    card = model_card(build_config(recipe="tr"), RUN, RESULTS)
    assert "| average (2 languages) | 91.25 |" in card.split("## Results")[1]
    metadata = yaml.safe_load(card.split("---\n")[1])
    assert metadata["language"] == ["fra", "eng"]
    [result] = metadata["model-index"][0]["results"]
    assert result["dataset"]["type"] == "tatoeba"
    assert [(m["name"], m["value"]) for m in result["metrics"]] == list(RESULTS.items())
    assert "model-index" not in yaml.safe_load(
        model_card(build_config(recipe="tr"), RUN, None).split("---\n")[1]
    )
