"""Each objective says what it asks of the data: whether its loss reads each row's language."""

from __future__ import annotations

import pytest

from interlingua.errors import ConfigError
from interlingua.training.config import build_config
from interlingua.training.objectives import OBJECTIVES, needs_language_ids


@pytest.mark.parametrize(
    ("overrides", "reads"),
    [
        ({"objective": "ems"}, True),
        ({"objective": "xtr", "xtr_head": "ems"}, True),
        ({"objective": "xtr", "xtr_head": "lightweight"}, False),
        ({"objective": "tr_plus", "token_term": "ugt", "xtr_head": "ems"}, True),
        ({"objective": "tr_plus", "token_term": "rtl", "xtr_head": "ems"}, False),
        ({"objective": "translation_ranking", "xtr_head": "ems"}, False),
        ({"objective": "lightweight"}, False),
    ],
)
def test_the_objectives_that_read_row_languages(overrides: dict, reads: bool) -> None:
    assert needs_language_ids(build_config(overrides=overrides)) is reads


def test_an_unknown_objective_names_the_known_ones() -> None:
    config = build_config()
    config.objective = "nonsense"
    with pytest.raises(ConfigError, match="unknown objective 'nonsense'; available: align"):
        needs_language_ids(config)
    assert "distillation" in OBJECTIVES
