"""``interlingua mine`` and ``interlingua mine calibrate`` end to end on tiny precomputed inputs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from interlingua import __version__
from interlingua.cli.main import main

from .synthetic import Corpus, read_tsv


def mine(corpus: Corpus, output: Path, *extra: str) -> int:
    return main(
        [
            "mine",
            "--src",
            str(corpus.src_text),
            "--tgt",
            str(corpus.tgt_text),
            "--src-embeddings",
            str(corpus.src_npy),
            "--tgt-embeddings",
            str(corpus.tgt_npy),
            "--output",
            str(output),
            "--quiet",
            *extra,
        ]
    )


def test_mine_writes_pairs_summary_and_histogram(corpus: Corpus, tmp_path: Path, capsys) -> None:
    output, histogram = tmp_path / "pairs.tsv", tmp_path / "scores.png"
    assert mine(corpus, output, "--histogram", str(histogram)) == 0
    rows = read_tsv(output)
    assert all(len(row) == 5 for row in rows)
    # max mode: each source and each target at most once; most planted pairs found.
    src_ids, tgt_ids = [int(r[3]) for r in rows], [int(r[4]) for r in rows]
    assert len(set(src_ids)) == len(src_ids) and len(set(tgt_ids)) == len(tgt_ids)
    found = {(int(r[3]) - 1, int(r[4]) - 1) for r in rows}
    assert sum(pair in found for pair in corpus.planted.items()) / len(corpus.planted) > 0.9
    assert rows[0][1] == f"source sentence {src_ids[0] - 1}"
    assert rows[0][2] == f"target sentence {tgt_ids[0] - 1}"
    scores = [float(r[0]) for r in rows]
    assert scores == sorted(scores, reverse=True)

    summary = json.loads((tmp_path / "pairs.tsv.json").read_text())
    assert summary["interlingua_version"] == __version__
    assert summary["settings"]["margin"] == "ratio" and summary["settings"]["k"] == 4
    assert summary["settings"]["mode"] == "max" and summary["settings"]["threshold"] is None
    assert summary["inputs"]["src"]["path"] == str(corpus.src_text.resolve())
    assert summary["inputs"]["embeddings"]["src"]["file"]["path"] == str(corpus.src_npy.resolve())
    assert summary["counts"]["written"] == len(rows)
    assert summary["peak_rss_bytes"] > 0
    assert histogram.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "pairs written" in capsys.readouterr().err


def test_threshold_and_top_n(corpus: Corpus, tmp_path: Path) -> None:
    assert mine(corpus, tmp_path / "all.tsv") == 0
    all_scores = [float(r[0]) for r in read_tsv(tmp_path / "all.tsv")]
    threshold = all_scores[len(all_scores) // 3]
    assert mine(corpus, tmp_path / "above.tsv", "--threshold", str(threshold)) == 0
    above = [float(r[0]) for r in read_tsv(tmp_path / "above.tsv")]
    assert above == [s for s in all_scores if s >= threshold] and min(above) >= threshold
    assert mine(corpus, tmp_path / "top.tsv", "--top-n", "25") == 0
    assert read_tsv(tmp_path / "top.tsv") == read_tsv(tmp_path / "all.tsv")[:25]


def test_laser_option_names_are_accepted(corpus: Corpus, tmp_path: Path) -> None:
    ours = ["--k", "3", "--mode", "forward", "--margin", "distance"]
    assert mine(corpus, tmp_path / "ours.tsv", *ours) == 0
    laser = [
        "mine",
        "--src",
        str(corpus.src_text),
        "--trg",
        str(corpus.tgt_text),
        "--src-embeddings",
        str(corpus.src_npy),
        "--trg-embeddings",
        str(corpus.tgt_npy),
        "--neighborhood",
        "3",
        "--retrieval",
        "fwd",
        "--margin",
        "distance",
        "--output",
        str(tmp_path / "laser.tsv"),
        "--quiet",
    ]
    assert main(laser) == 0
    assert (tmp_path / "laser.tsv").read_bytes() == (tmp_path / "ours.tsv").read_bytes()
    assert len(read_tsv(tmp_path / "ours.tsv")) == 600  # forward: one pair per source


def test_laser_raw_embeddings_and_compressed_output(corpus: Corpus, tmp_path: Path) -> None:
    assert mine(corpus, tmp_path / "npy.tsv") == 0
    corpus.src.tofile(tmp_path / "src.raw")
    corpus.tgt.tofile(tmp_path / "tgt.raw")
    raw = Corpus.of_files(corpus.src_text, corpus.tgt_text, tmp_path / "src.raw", tmp_path / "tgt.raw")
    assert mine(raw, tmp_path / "raw.tsv.gz", "--dim", "16") == 0
    with gzip.open(tmp_path / "raw.tsv.gz", "rt", encoding="utf-8") as handle:
        assert handle.read() == (tmp_path / "npy.tsv").read_text(encoding="utf-8")


def test_ivf_index_probing_every_list_equals_exact_search(corpus: Corpus, tmp_path: Path) -> None:
    # With nprobe = nlist the index visits every vector, and candidates are re-scored exactly:
    # the output must be the exact one, byte for byte.
    assert mine(corpus, tmp_path / "exact.tsv") == 0
    assert mine(corpus, tmp_path / "ivf.tsv", "--index", "IVF4,Flat", "--index-params", "nprobe=4") == 0
    assert (tmp_path / "ivf.tsv").read_bytes() == (tmp_path / "exact.tsv").read_bytes()
    assert (tmp_path / "ivf.tsv.work" / "knn" / "forward.index").is_file()
    # A compressed index finds most of the same pairs.
    assert mine(corpus, tmp_path / "pq.tsv", "--index", "IVF4,PQ4", "--index-params", "nprobe=2") == 0
    exact = {tuple(r[3:]) for r in read_tsv(tmp_path / "exact.tsv")}
    approximate = {tuple(r[3:]) for r in read_tsv(tmp_path / "pq.tsv")}
    assert len(exact & approximate) / len(exact) > 0.8


def test_duplicates_dropped_by_default_and_unify_mines_sentences_once(tmp_path: Path) -> None:
    # Three sentence pairs, the first repeated three times on both sides (as in pooled corpora).
    rng = np.random.default_rng(3)
    base_src = rng.standard_normal((3, 8)).astype(np.float32)
    base_tgt = base_src + 0.1 * rng.standard_normal((3, 8)).astype(np.float32)
    order = [0, 1, 0, 2, 0]
    np.save(tmp_path / "s.npy", base_src[order])
    np.save(tmp_path / "t.npy", base_tgt[order])
    (tmp_path / "s.txt").write_text("".join(f"s{i}\n" for i in order))
    (tmp_path / "t.txt").write_text("".join(f"t{i}\n" for i in order))
    corpus = Corpus.of_files(tmp_path / "s.txt", tmp_path / "t.txt", tmp_path / "s.npy", tmp_path / "t.npy")

    assert mine(corpus, tmp_path / "kept.tsv", "--keep-duplicates", "--mode", "forward") == 0
    kept = read_tsv(tmp_path / "kept.tsv")
    assert len(kept) == 5  # forward: one pair per source line
    assert mine(corpus, tmp_path / "dedup.tsv", "--mode", "forward") == 0
    # De-duplication keeps the first (best-scoring) pair of each distinct sentence pair.
    first_of_each = {}
    for row in kept:
        first_of_each.setdefault((row[1], row[2]), row)
    assert read_tsv(tmp_path / "dedup.tsv") == list(first_of_each.values())
    assert len(first_of_each) < len(kept)
    assert mine(corpus, tmp_path / "unified.tsv", "--unify") == 0
    unified = read_tsv(tmp_path / "unified.tsv")
    # each distinct sentence once, reported at its first line
    assert sorted((r[1], r[2], r[3], r[4]) for r in unified) == [
        ("s0", "t0", "1", "1"),
        ("s1", "t1", "2", "2"),
        ("s2", "t2", "4", "4"),
    ]


def write_bucc(folder: Path, corpus: Corpus) -> tuple[Path, Path, Path]:
    """The corpus in BUCC format: ID<TAB>sentence, and a gold file of the planted pairs."""
    src, tgt, gold = folder / "x.zh", folder / "x.en", folder / "x.gold"
    src.write_text("".join(f"zh-{i:06d}\tsource {i}\n" for i in range(len(corpus.src))))
    tgt.write_text("".join(f"en-{j:06d}\ttarget {j}\n" for j in range(len(corpus.tgt))))
    gold.write_text("".join(f"zh-{i:06d}\ten-{j:06d}\n" for i, j in sorted(corpus.planted.items())))
    return src, tgt, gold


def test_bucc_ids_and_calibration(corpus: Corpus, tmp_path: Path, capsys) -> None:
    src, tgt, gold = write_bucc(tmp_path, corpus)
    bucc = Corpus.of_files(src, tgt, corpus.src_npy, corpus.tgt_npy)
    output = tmp_path / "pairs.tsv"
    assert mine(bucc, output, "--id-column") == 0
    first = read_tsv(output)[0]
    assert first[3].startswith("zh-") and first[4].startswith("en-")
    assert first[1] == f"source {int(first[3][3:])}"
    capsys.readouterr()

    result_file, histogram = tmp_path / "calibration.json", tmp_path / "calibration.png"
    command = ["mine", "calibrate", "--pairs", str(output), "--gold", str(gold)]
    assert main([*command, "--output", str(result_file), "--histogram", str(histogram)]) == 0
    result = json.loads(result_file.read_text())
    assert json.loads(capsys.readouterr().out) == result
    assert result["gold"] == len(corpus.planted)
    assert result["f1"] > 0.9 and result["precision"] > 0.9 and result["recall"] > 0.9
    assert histogram.read_bytes()[:4] == b"\x89PNG"

    # The calibrated threshold, applied by mine, keeps exactly the pairs counted as kept.
    assert mine(bucc, tmp_path / "kept.tsv", "--id-column", "--threshold", repr(result["threshold"])) == 0
    assert len(read_tsv(tmp_path / "kept.tsv")) == result["kept"]


def test_help_documents_calibration(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["mine", "--help"])
    text = capsys.readouterr().out
    assert "interlingua mine calibrate" in text and "--max-memory" in text and "resumes" in text
