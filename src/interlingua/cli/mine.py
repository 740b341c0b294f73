"""``interlingua mine``: bitext mining from two text files, and ``interlingua mine calibrate``.

Only parses arguments and calls ``interlingua.mining``.  Where LASER's ``mine_bitexts.py`` has an
option, its name is accepted too (``--trg``, ``--trg-embeddings``, ``-k``/``--neighborhood``,
``--retrieval fwd|bwd|max|intersect``, ``--dim``, ``--unify``), so that LASER command lines and
thresholds carry over.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from interlingua.cli.options import add_dataclass_options, settings_from
from interlingua.errors import ConfigError
from interlingua.mining.margin import MODES
from interlingua.mining.plan import SCRATCH_BYTES, format_bytes, parse_memory
from interlingua.validation import POSITIVE_INT, check_model_reference

_MODE_ALIASES = {"fwd": "forward", "bwd": "backward"}

_DESCRIPTION = """\
Mine translation pairs between two text files (one sentence per line) with LASER's margin
criterion.  Embeddings come from --model, or precomputed from any encoder (--src-embeddings and
--tgt-embeddings: .npy matrices, one row per line, or LASER's raw float32 with --dim).

Every stage persists to the work directory (default OUTPUT.work): rerun the same command after
an interruption and it resumes where it stopped; rerun with another --mode, --margin or
--threshold and it reuses the embeddings and neighbours.  --max-memory bounds the memory the
pipeline allocates for data, whatever the corpus size (the encoder model comes on top).

Output TSV: score, source sentence, target sentence, source id, target id (1-based line numbers,
or the IDs of --id-column inputs).  A JSON summary goes to OUTPUT.json.

Threshold calibration: mine without --threshold, then
  interlingua mine calibrate --pairs OUTPUT --gold GOLD [--histogram PNG] [--output JSON]
finds the F1-optimal threshold on gold pairs in BUCC format (source-ID<TAB>target-ID)."""


def _mode(text: str) -> str:
    mode = _MODE_ALIASES.get(text, text)
    if mode not in MODES:
        raise argparse.ArgumentTypeError(f"invalid mode {text!r} (choose from {', '.join(MODES)}, fwd, bwd)")
    return mode


def memory_size(text: str) -> int:
    """argparse type of --max-memory."""
    try:
        size = parse_memory(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if size <= SCRATCH_BYTES:  # the pipeline's fixed scratch space alone takes this much
        raise argparse.ArgumentTypeError(f"must be more than {format_bytes(SCRATCH_BYTES)}, not {text}")
    return size


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mine",
        help="mine bitext from two monolingual files (margin-based, out of core, resumable)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from interlingua.mining.knn import SearchSettings
    from interlingua.mining.pipeline import MiningConfig

    groups = {name: parser.add_argument_group(name) for name in ("inputs", "mining", "search", "run")}
    types = {"mode": _mode, "max_memory": memory_size}
    for settings in (MiningConfig, SearchSettings):
        add_dataclass_options(parser, settings, types=types, groups=groups, show_defaults=True)
    # What MiningConfig holds in another form: embedding files, dedup and show_progress turned round.
    inputs, mining, run = groups["inputs"], groups["mining"], groups["run"]
    inputs.add_argument("--src-embeddings", type=Path, help="precomputed source embeddings (.npy, or raw)")
    inputs.add_argument(
        "--tgt-embeddings", "--trg-embeddings", type=Path, help="precomputed target embeddings"
    )
    inputs.add_argument(
        "--dim", type=POSITIVE_INT, help="the embeddings are LASER's raw format with this dimension"
    )
    inputs.add_argument("--raw-fp16", action="store_true", help="raw embeddings are float16 (with --dim)")
    mining.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="do not drop pairs whose two sentences repeat a better pair",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    add_engine_options(run)
    parser.set_defaults(func=_run_mine)

    commands = parser.add_subparsers(dest="mine_command", metavar="calibrate")
    calibrate = commands.add_parser(
        "calibrate",
        help="F1-optimal threshold of mined pairs against gold pairs (BUCC format)",
        description="Find the threshold that maximises F1 of mined pairs against gold pairs, as LASER's "
        "BUCC evaluation does, and optionally plot the score histogram of gold and other pairs.",
    )
    calibrate.add_argument("--pairs", type=Path, required=True, help="TSV written by interlingua mine")
    calibrate.add_argument("--gold", type=Path, required=True, help="source-ID<TAB>target-ID per line")
    calibrate.add_argument("--histogram", type=Path, help="save a PNG histogram with the threshold")
    calibrate.add_argument("--output", type=Path, help="save the result as JSON (also printed)")
    calibrate.set_defaults(func=_run_calibrate)


def add_engine_options(group: argparse._ArgumentGroup) -> None:
    """--engine and --ray-address, shared with ``interlingua encode``."""
    group.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: Ray workers (pip install 'interlingua[ray]')",
    )
    group.add_argument(
        "--ray-address",
        help="Ray cluster to join (HOST:PORT or auto; default: start Ray on this machine's cores)",
    )


def _run_mine(args: argparse.Namespace) -> int:
    from interlingua.atomic import check_output_file
    from interlingua.mining.embed import EmbeddingFile
    from interlingua.mining.knn import SearchSettings
    from interlingua.mining.pipeline import MiningConfig, run_mining

    missing = [name for name in ("src", "tgt", "output") if getattr(args, name) is None]
    if missing:
        raise ConfigError(f"missing {', '.join('--' + name for name in missing)}")
    if args.raw_fp16 and args.dim is None:
        raise ConfigError("--raw-fp16 needs --dim (it describes LASER's raw embedding files)")
    if args.index_params and not args.index:
        raise ConfigError("--index-params needs --index (exact search has no parameters)")
    for option, path in (
        ("--output", args.output),
        ("--histogram", args.histogram),
        ("--summary", args.summary),
    ):
        if path is not None:
            check_output_file(path, option)
    if args.model is not None:
        check_model_reference(args.model)

    def embeddings(path: Path | None) -> EmbeddingFile | None:
        return EmbeddingFile(path, dim=args.dim, fp16=args.raw_fp16) if path else None

    config = settings_from(
        args,
        MiningConfig,
        src_embeddings=embeddings(args.src_embeddings),
        tgt_embeddings=embeddings(args.tgt_embeddings),
        dedup=not args.keep_duplicates,
        search=settings_from(args, SearchSettings),
        show_progress=not args.quiet,
        engine=args.engine,
        ray_address=args.ray_address,
    )
    try:
        summary = run_mining(config)
    except KeyboardInterrupt:
        print("interlingua mine: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    counts = summary["counts"]
    print(
        f"{counts['written']:,} pairs written to {args.output} "
        f"({counts['candidates']:,} candidates, {counts['below_threshold']:,} below the threshold, "
        f"{counts['duplicates']:,} duplicates); summary in {config.summary_path}",
        file=sys.stderr,
    )
    return 0


def _run_calibrate(args: argparse.Namespace) -> int:
    from interlingua.atomic import check_output_file, write_text
    from interlingua.mining.calibrate import calibrate_files

    for option, path in (("--output", args.output), ("--histogram", args.histogram)):
        if path is not None:
            check_output_file(path, option)

    result = calibrate_files(args.pairs, args.gold, histogram=args.histogram).as_dict()
    text = json.dumps(result, indent=2)
    if args.output:
        write_text(args.output, text + "\n")
    print(text)
    return 0
