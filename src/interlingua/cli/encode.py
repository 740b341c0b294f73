"""``interlingua encode``: one sentence per line in, a float32 .npy matrix out."""

from __future__ import annotations

import argparse
from pathlib import Path

from interlingua.cli.mine import add_engine_options, memory_size
from interlingua.errors import ConfigError
from interlingua.validation import POSITIVE_INT


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("encode", help="encode a text file into a .npy matrix")
    parser.add_argument(
        "--model",
        required=True,
        help="model folder or hub name (an ONNX export or a static model runs without torch)",
    )
    parser.add_argument(
        "--input", required=True, help="text file, one sentence per line (.xz/.gz read transparently)"
    )
    parser.add_argument("--output", required=True, help="output .npy file (rows L2-normalised, float32)")
    parser.add_argument(
        "--prefix", default="", help='text prepended to every sentence (e5 models: "query: ")'
    )
    parser.add_argument("--batch-size", type=POSITIVE_INT, default=128, help="sentences per forward pass")
    add_engine_options(parser)
    parser.add_argument(
        "--max-memory",
        type=memory_size,
        default="2G",
        help="with --engine ray: memory budget of a worker's shards (default 2G)",
    )
    parser.add_argument("--work-dir", type=Path, help="with --engine ray: stage files (default OUTPUT.work)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return _run_staged(args)
    for option, value in (("--ray-address", args.ray_address), ("--work-dir", args.work_dir)):
        if value:
            raise ConfigError(f"{option} needs --engine ray")
    from interlingua.models.encode import encode_file  # here, not above: --help stays fast

    matrix = encode_file(args.model, args.input, args.output, prefix=args.prefix, batch_size=args.batch_size)
    print(f"wrote {matrix.shape[0]} x {matrix.shape[1]} embeddings to {args.output}")
    return 0


def _run_staged(args: argparse.Namespace) -> int:
    from interlingua.mining.encoding import encode_staged

    shape = encode_staged(
        args.model,
        Path(args.input),
        Path(args.output),
        prefix=args.prefix,
        batch_size=args.batch_size,
        max_memory=args.max_memory,
        work_dir=args.work_dir,
        engine=args.engine,
        ray_address=args.ray_address,
        show_progress=True,
    )
    print(f"wrote {shape[0]} x {shape[1]} embeddings to {args.output}")
    return 0
