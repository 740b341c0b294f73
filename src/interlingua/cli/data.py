"""``interlingua data shard``: corpora larger than memory, written once into shards to stream from."""

from __future__ import annotations

import argparse

from interlingua.validation import NON_NEGATIVE_INT, POSITIVE_INT

_DESCRIPTION = """\
Write the parallel files of one or more folders (xx-yy.xx + xx-yy.yy, or xx-yy.tsv, optionally
.gz/.xz/.bz2) into --shards shards in the new folder --output, with an index.json, without holding
the corpora in memory. Train from them with `interlingua train --streaming OUTPUT`
(docs/streaming.md)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="prepare training data (shard corpora larger than memory)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    shard = actions.add_parser(
        "shard",
        help="shard parallel corpora for streaming training",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shard.add_argument("inputs", nargs="+", metavar="FOLDER", help="folders of parallel files")
    shard.add_argument("--output", required=True, help="new folder for the shards and index.json")
    shard.add_argument(
        "--shards",
        type=POSITIVE_INT,
        required=True,
        help="number of shard files: more, smaller shards vary more between epochs and resume faster",
    )
    shard.add_argument("--pivot", help="only pairs with this language, turned so that it is the target side")
    shard.add_argument(
        "--seed", type=NON_NEGATIVE_INT, default=0, help="seed of the interleaving and the sample"
    )
    shard.add_argument(
        "--sample-pairs",
        type=POSITIVE_INT,
        default=20000,
        help="pairs of each corpus sampled for training a vocabulary (default 20000)",
    )
    shard.set_defaults(func=run_shard)


def run_shard(args: argparse.Namespace) -> int:
    from interlingua.data.streaming import shard_corpus

    index = shard_corpus(
        args.inputs,
        args.output,
        shards=args.shards,
        pivot=args.pivot,
        seed=args.seed,
        sample_pairs=args.sample_pairs,
        progress=True,
    )
    print(
        f"{index.pairs:,} pairs of {len(index.corpora)} corpora ({', '.join(index.languages)}) "
        f"in {len(index.shards)} shards: {index.path}"
    )
    return 0
