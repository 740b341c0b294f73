"""``interlingua eval`` records (and reports) how many inputs were truncated or unreadable."""

from __future__ import annotations

import json

from interlingua.cli.main import main


def test_truncated_and_unknown_inputs_are_recorded(tmp_path, tiny_model, data_root, capsys) -> None:
    output = tmp_path / "results.json"
    argv = ["eval", "tatoeba", "--model", str(tiny_model), "--langs", "tha", "--data-root", str(data_root)]
    assert main([*argv, "--output", str(output), "--quiet", "--no-margin"]) == 0
    encoding = json.loads(output.read_text(encoding="utf-8"))["provenance"]["encoding"]
    # The tiny model's vocabulary has no Thai: most Thai sentences are unknown pieces only.
    assert encoding["unknown_pieces_only"] > encoding["distinct_sentences"] // 3
    assert isinstance(encoding["truncated"], int)
    assert "unknown pieces only" in capsys.readouterr().err
