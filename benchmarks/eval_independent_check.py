"""Independent recomputation of Tatoeba-36, FLORES xSIM and STS17 from saved embeddings.

    .venv/bin/python benchmarks/eval_independent_check.py /tmp/il-eval/me5 [--data-root DIR]

Reads the vectors that ``eval_reference.py`` saved (``OUT/embeddings``: sentences.json + vectors.npy)
and the raw benchmark files (``lzma`` + ``csv``-free parsing), recomputes the three headline numbers
with plain numpy and scipy (no import of ``interlingua``), and prints them beside the suite's
``OUT/results.json``.  Exits with status 1 when any differs by more than 0.5 points.

The protocol, restated here from the conventions rather than from the suite's code:
  * Tatoeba (36 XTREME languages): cosine top-1 in both directions; a hit when the retrieved line's
    text equals the gold line's text; per language the mean of both directions; then the mean.
  * FLORES-200 devtest: cosine top-1 of each xx sentence among the 1012 eng_Latn sentences; error
    when the retrieved English text differs from the gold one; mean error rate over the files.
  * STS17: Spearman (scipy) of cosine against the gold score, x 100; mean over the 7 tracks.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

# fmt: off
XTREME36 = (
    "afr", "ara", "bul", "ben", "deu", "ell", "spa", "est", "eus", "pes", "fin", "fra",
    "heb", "hin", "hun", "ind", "ita", "jpn", "jav", "kat", "kaz", "kor", "mal", "mar",
    "nld", "por", "rus", "swh", "tam", "tel", "tha", "tgl", "tur", "urd", "vie", "cmn",
)
# fmt: on
# fmt: off
FLORES36 = (
    "afr_Latn", "arb_Arab", "bul_Cyrl", "ben_Beng", "deu_Latn", "ell_Grek", "spa_Latn", "est_Latn",
    "eus_Latn", "pes_Arab", "fin_Latn", "fra_Latn", "heb_Hebr", "hin_Deva", "hun_Latn", "ind_Latn",
    "ita_Latn", "jpn_Jpan", "jav_Latn", "kat_Geor", "kaz_Cyrl", "kor_Hang", "mal_Mlym", "mar_Deva",
    "nld_Latn", "por_Latn", "rus_Cyrl", "swh_Latn", "tam_Taml", "tel_Telu", "tha_Thai", "tgl_Latn",
    "tur_Latn", "urd_Arab", "vie_Latn", "zho_Hans",
)
# fmt: on
TOLERANCE = 0.5


def lines(path: Path) -> list[str]:
    with lzma.open(path, "rt", encoding="utf-8", newline="\n") as handle:
        return handle.read().split("\n")[:-1]


class Vectors:
    def __init__(self, folder: Path) -> None:
        sentences = json.loads((folder / "sentences.json").read_text(encoding="utf-8"))
        self.row = {sentence: index for index, sentence in enumerate(sentences)}
        self.matrix = np.load(folder / "vectors.npy").astype(np.float64)

    def __call__(self, sentences: list[str]) -> np.ndarray:
        return self.matrix[[self.row[s] for s in sentences]]


def top1_text_accuracy(queries: np.ndarray, keys: np.ndarray, key_texts: list[str]) -> float:
    retrieved = np.argmax(queries @ keys.T, axis=1)
    return 100.0 * np.mean([key_texts[j] == key_texts[i] for i, j in enumerate(retrieved)])


def tatoeba36(vectors: Vectors, root: Path) -> float:
    scores = []
    for code in XTREME36:
        own = lines(root / "tatoeba_laser_v1" / f"tatoeba.{code}-eng.{code}.xz")
        english = lines(root / "tatoeba_laser_v1" / f"tatoeba.{code}-eng.eng.xz")
        x, e = vectors(own), vectors(english)
        scores.append((top1_text_accuracy(x, e, english) + top1_text_accuracy(e, x, own)) / 2)
    return float(np.mean(scores))


def flores_error(vectors: Vectors, root: Path, codes: list[str]) -> float:
    english = lines(root / "flores200_devtest" / "eng_Latn.devtest.xz")
    e = vectors(english)
    rates = [
        100.0
        - top1_text_accuracy(vectors(lines(root / "flores200_devtest" / f"{code}.devtest.xz")), e, english)
        for code in codes
    ]
    return float(np.mean(rates))


def sts17(vectors: Vectors, root: Path) -> float:
    rhos = []
    for path in sorted((root / "sts17_semeval").glob("sts17.track*.tsv.xz")):
        rows = [line.split("\t") for line in lines(path)[1:]]
        a, b = vectors([r[1] for r in rows]), vectors([r[2] for r in rows])
        cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        rhos.append(100.0 * spearmanr(cosine, [float(r[0]) for r in rows]).statistic)
    return float(np.mean(rhos))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="the folder eval_reference.py wrote")
    parser.add_argument("--data-root", type=Path, default=os.environ.get("INTERLINGUA_DATA"))
    args = parser.parse_args()
    if args.data_root is None:
        raise SystemExit("give --data-root or set INTERLINGUA_DATA")
    vectors = Vectors(args.out / "embeddings")
    tasks = json.loads((args.out / "results.json").read_text(encoding="utf-8"))["tasks"]
    suite_flores = tasks["flores"]["per_language"]
    rows = [
        (
            "Tatoeba-36 average (accuracy %)",
            tatoeba36(vectors, args.data_root),
            tasks["tatoeba"]["average_xtreme36"],
        ),
        (
            "FLORES xSIM error %, XTREME-36 languages",
            flores_error(vectors, args.data_root, FLORES36),
            float(np.mean([suite_flores[code]["error_rate"] for code in FLORES36])),
        ),
        ("STS17 average (Spearman x 100)", sts17(vectors, args.data_root), tasks["sts17"]["average"]),
    ]
    print(f"{'':42} {'independent':>11} {'interlingua':>11} {'difference':>10}")
    worst = 0.0
    for label, independent, suite in rows:
        worst = max(worst, abs(independent - suite))
        print(f"{label:42} {independent:11.2f} {suite:11.2f} {independent - suite:10.3f}")
    print(f"largest difference {worst:.3f} points (tolerance {TOLERANCE})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
