"""``interlingua eval``: run the evaluation suite on a model, or compare result files.

    interlingua eval {tatoeba,flores,bucc,sts17,xnli,pawsx,all} --model PATH [--prefix "query: "]
        [--langs deu,fra | xtreme36 | all] [--data-root DIR] [--output results.json] [--plot out.png]
    interlingua eval compare A.json B.json ... [--per-language]

The data root defaults to ``$INTERLINGUA_DATA``.  The terminal gets one table per task; ``--output``
writes the JSON result with provenance; ``--plot`` draws the per-language scores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interlingua.evaluation.suite import TASK_NAMES
from interlingua.validation import POSITIVE_INT

TASK_HELP = {
    "tatoeba": "Tatoeba (LASER v1) top-1 retrieval accuracy, both directions, 112 languages",
    "flores": "FLORES-200 devtest xSIM error rate, xx -> eng_Latn",
    "bucc": "BUCC 2018 zh-en mining (sample split): precision, recall, F1, threshold (ignores --langs)",
    "sts17": "STS17 Spearman x 100 per track",
    "xnli": "XNLI zero-shot from English (held-out part of the labelled dev sets)",
    "pawsx": "PAWS-X zero-shot from English (held-out part of the labelled dev sets)",
    "all": "every task, each distinct sentence encoded once",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a model on the benchmark suite, or compare results")
    tasks = parser.add_subparsers(dest="task", required=True, metavar="TASK")
    for name in (*TASK_NAMES, "all"):
        task_parser = tasks.add_parser(name, help=TASK_HELP[name])
        _add_run_options(task_parser)
        task_parser.set_defaults(func=run_tasks, tasks=list(TASK_NAMES) if name == "all" else [name])
    compare = tasks.add_parser("compare", help="side-by-side table of result files")
    compare.add_argument("results", nargs="+", help="JSON files written by 'interlingua eval ... --output'")
    compare.add_argument("--per-language", action="store_true", help="also one row per task and language")
    compare.set_defaults(func=run_compare)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="sentence-transformers model folder (or hub name)")
    parser.add_argument("--prefix", default="", help='text prepended to every input (e5 models: "query: ")')
    parser.add_argument(
        "--langs",
        default=None,
        help="languages: codes and/or named sets, comma-separated (deu,fra | xtreme36 | all112 | all); "
        "default: all 112 for tatoeba, xtreme36 for flores, every language of the other tasks",
    )
    parser.add_argument(
        "--data-root", default=None, help="benchmark data folder (default: $INTERLINGUA_DATA)"
    )
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of the per-language scores here")
    parser.add_argument(
        "--margin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score Tatoeba and FLORES with ratio-margin retrieval (k=4); default: on",
    )
    parser.add_argument("--batch-size", type=POSITIVE_INT, default=128, help="sentences per forward pass")
    parser.add_argument(
        "--threads",
        type=POSITIVE_INT,
        default=None,
        help="CPU threads for the model (default: torch's choice)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_tasks(args: argparse.Namespace) -> int:
    from interlingua.atomic import check_output_file
    from interlingua.data.corpora import resolve_data_root
    from interlingua.evaluation.report import plot_per_language, write_json
    from interlingua.evaluation.suite import run_suite
    from interlingua.models.encode import load_encoder

    for option, path in (("--output", args.output), ("--plot", args.plot)):
        if path is not None:
            check_output_file(path, option)
    data_root = resolve_data_root(args.data_root)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    encoder = load_encoder(args.model, prefix=args.prefix, batch_size=args.batch_size)
    result = run_suite(
        encoder,
        args.tasks,
        data_root=data_root,
        languages=args.langs,
        margin=args.margin,
        model_path=args.model,
        show_progress=not args.quiet,
    )
    print(result.tables())
    encoding = result.provenance["encoding"]
    if encoding["truncated"] or encoding["unknown_pieces_only"]:
        truncated, unknown = encoding["truncated"], encoding["unknown_pieces_only"]
        counts = f"{truncated:,} truncated, {unknown:,} unknown pieces only"
        print(f"\nof {encoding['distinct_sentences']:,} distinct inputs: {counts}", file=sys.stderr)
    if args.output is not None:
        write_json(result.document(), args.output)
        print(f"\nwrote {args.output}")
    if args.plot is not None:
        blocks = {name: outcome.block for name, outcome in result.outcomes.items()}
        plot_per_language(blocks, args.plot, title=f"{args.model} ({', '.join(args.tasks)})")
        print(f"wrote {args.plot}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from interlingua.evaluation.report import compare_table

    print(compare_table(args.results, per_language=args.per_language))
    return 0
