"""Tatoeba: text-equality hits on real data, the tie rule, margin retrieval, the library entry point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from eval_fakes import TableEncoder, aligned_oracle, write_xz_lines

from interlingua.data.textio import read_lines
from interlingua.errors import ConfigError
from interlingua.evaluation.retrieval import retrieve_top1
from interlingua.evaluation.tatoeba import evaluate_tatoeba, load_tatoeba, score_tatoeba

# The shared LASER v1 copy repeats no line exactly inside a file; its closest real duplicates are case
# variants.  In tatoeba.hye-eng, lines 287 and 288 (1-based) are
#   hye: "ես քեզ սիրում եմ:" / "Ես քեզ սիրում եմ:"      eng: "I love you." / "I love you!"
HYE_FIRST, HYE_SECOND = 286, 287  # 0-based rows


def _hye_root(tmp_path: Path, data_root: Path, *, make_exact_copy: bool) -> tuple[Path, list[str], list[str]]:
    source = data_root / "tatoeba_laser_v1"
    own = read_lines(source / "tatoeba.hye-eng.hye.xz")
    english = read_lines(source / "tatoeba.hye-eng.eng.xz")
    assert own[HYE_FIRST] == "ես քեզ սիրում եմ:" and own[HYE_SECOND] == "Ես քեզ սիրում եմ:"
    assert english[HYE_FIRST] == "I love you." and english[HYE_SECOND] == "I love you!"
    if make_exact_copy:
        own[HYE_SECOND] = own[HYE_FIRST]
    write_xz_lines(tmp_path / "tatoeba_laser_v1" / "tatoeba.hye-eng.hye.xz", own)
    write_xz_lines(tmp_path / "tatoeba_laser_v1" / "tatoeba.hye-eng.eng.xz", english)
    return tmp_path, own, english


def test_retrieving_a_copy_of_the_gold_text_is_a_hit(tmp_path, data_root):
    # Line 288's Armenian made an exact copy of line 287's (the case variant normalised).  A perfect
    # aligner gives the shared text the vector (e287 + e288) / sqrt(2).
    #   eng->hye, query "I love you!" (e288): rows 287 and 288 tie at 0.707; numpy takes row 287,
    #     whose text equals the gold text of row 288 -> hit.  All 742 queries hit: 100.0.
    #   hye->eng, query row 288: "I love you." and "I love you!" tie at 0.707; row 287 wins, a
    #     different text -> miss.  741 of 742 hit: 99.865...
    root, own, english = _hye_root(tmp_path, data_root, make_exact_copy=True)
    result = evaluate_tatoeba(aligned_oracle(own, english), root, "hye")
    score = result.per_language["hye"]
    assert score.pairs == 742
    assert score.eng_to_xx == pytest.approx(100.0)
    assert score.xx_to_eng == pytest.approx(100.0 * 741 / 742)
    assert result.average == pytest.approx((100.0 + 100.0 * 741 / 742) / 2)


def test_case_variants_are_different_texts_even_when_the_model_cannot_tell(tmp_path, data_root):
    # The real file, and a lower-casing model: both Armenian lines become one input and tie exactly.
    # Each direction loses the query whose tie resolves to row 287 while its gold is row 288.
    root, own, english = _hye_root(tmp_path, data_root, make_exact_copy=False)
    encoder = aligned_oracle(own, english, normalise=str.lower)
    score = evaluate_tatoeba(encoder, root, "hye").per_language["hye"]
    assert score.eng_to_xx == pytest.approx(100.0 * 741 / 742)
    assert score.xx_to_eng == pytest.approx(100.0 * 741 / 742)


# Ratio-margin retrieval, hand-worked on unit vectors in the plane (angles in degrees):
#   queries q0 = 0, q1 = 40; keys k0 = -25 (gold of q0), k1 = 65 (gold of q1), hub h = 20.
#   cos 20 = 0.93969, cos 25 = 0.90631, cos 45 = 0.70711, cos 65 = 0.42262, cos 90 = 0.
# Cosine: q0 -> h (0.93969 > 0.90631), q1 -> h (cos 20 > cos 25): both miss.
# Margin with k = 2 (keys ordered k0, k1, h):
#   a(q0) = (0.93969 + 0.90631) / 2 = 0.92300, a(q1) = the same by symmetry
#   b(k0) = (cos 25 + cos 65) / 2 = 0.66446, b(k1) = 0.66446, b(h) = (cos 20 + cos 20) / 2 = 0.93969
#   q0-k0: 0.90631 / ((0.92300 + 0.66446) / 2) = 1.14183;  q0-h: 0.93969 / ((0.92300 + 0.93969) / 2) = 1.00896
#   -> q0 -> k0, and by symmetry q1 -> k1: both hit.
def _plane(degrees: float) -> list[float]:
    radians = np.deg2rad(degrees)
    return [float(np.cos(radians)), float(np.sin(radians))]


QUERIES = np.array([_plane(0), _plane(40)], dtype=np.float32)
KEYS = np.array([_plane(-25), _plane(65), _plane(20)], dtype=np.float32)


def test_margin_retrieval_golden_case():
    assert retrieve_top1(QUERIES, KEYS, "cosine").tolist() == [2, 2]
    assert retrieve_top1(QUERIES, KEYS, "margin", k=2).tolist() == [0, 1]


def test_margin_scores_golden_values():
    from interlingua.mining.margin import knn_search, margin_score, neighbourhood_mean

    forward_sims, forward_ids = knn_search(QUERIES, KEYS, 2)
    backward_sims, _ = knn_search(KEYS, QUERIES, 2)
    query_mean, key_mean = neighbourhood_mean(forward_sims), neighbourhood_mean(backward_sims)
    assert query_mean == pytest.approx([0.92300, 0.92300], abs=1e-5)
    assert key_mean == pytest.approx([0.66446, 0.66446, 0.93969], abs=1e-5)
    scores = margin_score(QUERIES @ KEYS.T, query_mean[:, None], key_mean[None, :], "ratio")
    assert scores[0, 0] == pytest.approx(1.14183, abs=1e-4)
    assert scores[0, 2] == pytest.approx(1.00896, abs=1e-4)


def test_tatoeba_accuracy_cosine_versus_margin(tmp_path):
    # The same geometry as a three-pair test set: afr q0 = 0, q1 = 40, q2 = 20; English k0 = -25,
    # k1 = 65, and the hub h = 20 as q2's translation.  k = 4 is cut to the 3 lines.
    # Cosine  afr->eng: q0 -> h, q1 -> h (misses), q2 -> h (cos 0 = 1, hit): 1 of 3.
    #         eng->afr: k0 -> q0 (cos 25), k1 -> q1, h -> q2 (cos 0): 3 of 3.
    # Margin: a(q0) = a(q1) = (cos 20 + cos 25 + cos 65) / 3 = 0.75621, a(q2) = (1 + 2 cos 45) / 3 = 0.80474;
    #         b(k0) = b(k1) = (cos 25 + cos 65 + cos 45) / 3 = 0.68535, b(h) = (2 cos 20 + 1) / 3 = 0.95980.
    #   q0: k0 0.90631 / 0.72078 = 1.25740 > h 0.93969 / 0.85800 = 1.09521 -> hit; q1 alike -> hit;
    #   q2: h 1 / 0.88227 = 1.13344 > k0 0.70711 / 0.74504 = 0.94907 -> hit.  3 of 3.
    #   h (eng->afr): q2 1.13344 > q0 1.09521 -> hit; k0 -> q0, k1 -> q1.  3 of 3.
    table = {
        "q0": _plane(0),
        "q1": _plane(40),
        "q2": _plane(20),
        "k0": _plane(-25),
        "k1": _plane(65),
        "h": _plane(20),
    }
    write_xz_lines(tmp_path / "tatoeba_laser_v1" / "tatoeba.afr-eng.afr.xz", ["q0", "q1", "q2"])
    write_xz_lines(tmp_path / "tatoeba_laser_v1" / "tatoeba.afr-eng.eng.xz", ["k0", "k1", "h"])
    data = load_tatoeba(tmp_path, "afr")
    cosine = score_tatoeba(TableEncoder(table), data, retrieval="cosine").per_language["afr"]
    assert (cosine.xx_to_eng, cosine.eng_to_xx) == pytest.approx((100 / 3, 100.0))
    assert cosine.average == pytest.approx(200 / 3)
    margin = score_tatoeba(TableEncoder(table), data, retrieval="margin").per_language["afr"]
    assert (margin.xx_to_eng, margin.eng_to_xx) == pytest.approx((100.0, 100.0))


def test_unknown_language_and_missing_data_root(monkeypatch, tmp_path):
    from interlingua.data.languages import UnknownLanguageError

    monkeypatch.delenv("INTERLINGUA_DATA", raising=False)
    with pytest.raises(ConfigError, match="INTERLINGUA_DATA"):
        load_tatoeba(None, "deu")
    (tmp_path / "tatoeba_laser_v1").mkdir()
    with pytest.raises(UnknownLanguageError):
        load_tatoeba(tmp_path, "xyzzy")
    with pytest.raises(ConfigError, match="no Tatoeba test set"):
        load_tatoeba(tmp_path, "deu")


def test_xtreme36_average_counts_only_xtreme_languages():
    from interlingua.evaluation.tatoeba import TatoebaLanguageScore, TatoebaResult

    per_language = {
        "deu": TatoebaLanguageScore("deu", 40, 90.0, 80.0),
        "hye": TatoebaLanguageScore("hye", 40, 50.0, 70.0),
    }
    result = TatoebaResult("cosine", per_language, frozenset({"deu", "fra"}), {})
    assert result.average == pytest.approx((85.0 + 60.0) / 2)
    assert result.xtreme36_average == pytest.approx(85.0)
    assert result.xtreme36_evaluated == ["deu"]
    assert "xtreme36 average (1 of 36)" in result.to_table()
