"""STS17 Spearman on hand-worked cases, and the zero-shot classifier on a synthetic benchmark."""

from __future__ import annotations

import numpy as np
import pytest
from eval_fakes import TableEncoder, write_xz_lines

from interlingua.errors import DataError
from interlingua.evaluation.sts import evaluate_sts17, load_sts17, spearman_x100
from interlingua.evaluation.zeroshot import PAWSX, evaluate_zero_shot, holdout_mask, load_zero_shot


def test_spearman_golden_values():
    # Predicted ranks [1, 3, 2, 4] against gold [1, 2, 3, 4]: sum d^2 = 2, rho = 1 - 6*2 / (4*15) = 0.8.
    assert spearman_x100([0.1, 0.4, 0.35, 0.8], [1, 2, 3, 4]) == pytest.approx(80.0)
    # Tied gold [1, 1, 3, 2] -> average ranks [1.5, 1.5, 4, 3]; predicted ranks [1, 2, 4, 3].
    # Pearson of the ranks: covariance 4.5, variances 5 and 4.5: 4.5 / sqrt(22.5) = 0.948683.
    assert spearman_x100([0.2, 0.5, 0.9, 0.7], [1, 1, 3, 2]) == pytest.approx(94.8683, abs=1e-3)


def _angle(degrees: float) -> list[float]:
    return [float(np.cos(np.deg2rad(degrees))), float(np.sin(np.deg2rad(degrees)))]


def test_sts17_track_from_files(tmp_path):
    # Cosines cos 10 > cos 30 > cos 60 > cos 80 against gold 5, 3, 4, 1: predicted ranks [4, 3, 2, 1],
    # gold ranks [4, 2, 3, 1]: sum d^2 = 2, rho = 0.8 -> 80.0.  The es-es track is left out when
    # only Turkish is selected; tr-en stays (English always counts as selected).
    folder = tmp_path / "sts17_semeval"
    rows = ["score\tsentence1\tsentence2", "5.0\ts\tt10", "3\ts\tt30", "4.0\ts\tt60", "1.0\ts\tt80"]
    write_xz_lines(folder / "sts17.track6.tr-en.tsv.xz", rows)
    write_xz_lines(folder / "sts17.track3.es-es.tsv.xz", rows)
    encoder = TableEncoder({"s": _angle(0), **{f"t{d}": _angle(d) for d in (10, 30, 60, 80)}})
    result = evaluate_sts17(encoder, tmp_path, "tur")
    assert list(result.spearman) == ["tr-en (6)"]
    assert result.spearman["tr-en (6)"] == pytest.approx(80.0)
    assert result.average == pytest.approx(80.0)
    assert list(evaluate_sts17(encoder, tmp_path).spearman) == ["es-es (3)", "tr-en (6)"]
    write_xz_lines(folder / "sts17.track6.tr-en.tsv.xz", [rows[0], "high\ts\tt10"])
    with pytest.raises(DataError, match="tr-en.tsv.xz:2"):
        load_sts17(tmp_path)


def test_holdout_keeps_groups_whole_and_is_seeded():
    groups = [f"p{i // 3}" for i in range(60)]
    held = holdout_mask(groups, 0.5, seed=0)
    assert held.sum() == 30
    for start in range(0, 60, 3):
        assert len(set(held[start : start + 3].tolist())) == 1
    assert np.array_equal(held, holdout_mask(groups, 0.5, seed=0))
    assert not np.array_equal(held, holdout_mask(groups, 0.5, seed=1))


def _synthetic_pawsx(tmp_path):
    # 40 source sentences, two pairs each: label 1 pairs a sentence with its paraphrase, label 0 with
    # an unrelated sentence.  German is a word-for-word "translation" (prefix "de:"); the third
    # language ("ko") is one the toy encoder does not know.
    rows = {"en": [], "de": [], "ko": []}
    for i in range(40):
        for label, second in ((1, f"para{i}"), (0, f"other{i}")):
            rows["en"].append(f"sent{i}\t{second}\t{label}")
            rows["de"].append(f"de:sent{i}\tde:{second}\t{label}")
            rows["ko"].append(f"ko:sent{i}\tko:{second}\t{label}")
    for language, lines in rows.items():
        write_xz_lines(tmp_path / "pawsx_xtreme" / f"dev-{language}.tsv.xz", lines)
    rng = np.random.default_rng(7)
    table = {}
    for i in range(40):
        sentence, other = rng.standard_normal(16), rng.standard_normal(16)
        for prefix in ("", "de:"):
            table[f"{prefix}sent{i}"] = sentence
            table[f"{prefix}para{i}"] = sentence + 0.05 * rng.standard_normal(16)
            table[f"{prefix}other{i}"] = other
    return tmp_path, TableEncoder(table, dim=16)


def test_zero_shot_transfers_where_the_encoder_is_aligned(tmp_path):
    root, encoder = _synthetic_pawsx(tmp_path)
    result = evaluate_zero_shot(PAWSX, encoder, root)
    # Half of the 40 groups (40 rows) held out in every language; the other 40 English rows train.
    assert (result.train_rows, result.test_rows) == (40, 40)
    assert result.accuracy["en"] == pytest.approx(100.0)
    assert result.accuracy["de"] == pytest.approx(100.0)
    # "ko" sentences get unrelated random vectors: a paraphrase looks like any other pair.
    assert result.accuracy["ko"] <= 75.0
    assert result.average == pytest.approx((100.0 + result.accuracy["ko"]) / 2)
    assert result.chosen_c in (0.0001, 0.001, 0.01, 0.1, 1.0, 10.0)
    # Labels alternate 1, 0 within each group, so the majority class scores exactly 50 %.
    assert result.majority_baseline == {"en": 50.0, "de": 50.0, "ko": 50.0}
    block = result.to_json()
    assert "held-out" in block["note"] and block["settings"]["holdout_fraction"] == 0.5


def test_zero_shot_never_trains_on_a_test_item(tmp_path):
    root, encoder = _synthetic_pawsx(tmp_path)
    data = load_zero_shot(PAWSX, root, "de")
    assert list(data.per_language) == ["en", "de"]
    train_groups = {data.per_language["en"].first[i] for i in data.train_rows}
    test_groups = {data.per_language["en"].first[i] for i in data.test_rows}
    assert train_groups.isdisjoint(test_groups)
    assert len(train_groups) == len(test_groups) == 20
