"""``interlingua tokenizer train``: a joint vocabulary from training corpora or text files."""

from __future__ import annotations

import argparse

from interlingua.models.tokenizer import TOKENIZER_MODELS
from interlingua.validation import POSITIVE_INT, Number


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokenizer", help="build joint multilingual vocabularies")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train",
        help="train a vocabulary",
        description="Train a joint vocabulary balanced across languages, from the training corpora of "
        "--langs in the data root, and/or from --input text files (one sentence per line).",
    )
    train.add_argument("--langs", help="languages whose training corpora (with the pivot side) to use")
    train.add_argument("--corpora", default="tatoeba_challenge", help="training corpora in the data root")
    train.add_argument("--data-root", help="folder of the shared corpora (default: $INTERLINGUA_DATA)")
    train.add_argument("--input", nargs="*", default=[], help="extra text files, each taken as one language")
    train.add_argument("--vocab-size", type=Number(int, minimum=100), default=32000)
    train.add_argument("--model", choices=TOKENIZER_MODELS, default="bpe")
    train.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=True)
    train.add_argument(
        "--lines-per-language", type=POSITIVE_INT, default=20000, help="cap per language, for balance"
    )
    train.add_argument("--output", required=True, help="folder to save the tokenizer in")
    train.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from interlingua.models.tokenizer import build_tokenizer_from_sources

    tokenizer = build_tokenizer_from_sources(
        langs=args.langs,
        corpora=[name.strip() for name in args.corpora.split(",") if name.strip()],
        data_root=args.data_root,
        input_files=args.input,
        vocab_size=args.vocab_size,
        model=args.model,
        lowercase=args.lowercase,
        lines_per_language=args.lines_per_language,
        output=args.output,
    )
    print(f"saved a {len(tokenizer)}-piece {args.model} vocabulary to {args.output}")
    return 0
