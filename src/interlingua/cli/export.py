"""``interlingua export``: a model as ONNX (fp32 or int8) or as torch int8, checked against the original.

    interlingua export onnx --model PATH --output DIR [--int8] [--max-length N] [--prefix "query: "]
        [--check-langs deu,fra,spa,rus,tur | --no-check] [--data-root DIR] [--repeats 3] [--threads N]
    interlingua export torch-int8 --model PATH --output DIR [...]

The export folder loads wherever a model path is taken (``interlingua encode``, ``interlingua eval``).
Unless ``--no-check``, both the original and the export then encode the Tatoeba test sets of the check
languages: the accuracies, their difference and the sentences/s of each are printed and recorded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from interlingua.evaluation.export_check import DEFAULT_CHECK_LANGUAGES
from interlingua.models.export import DEFAULT_OPSET, EXPORTERS, FORMATS
from interlingua.validation import POSITIVE_INT, Number, check_model_reference

FORMAT_HELP = {
    "onnx": "one ONNX graph (transformer, pooling, L2 normalisation) for ONNX Runtime; --int8 quantises",
    "torch-int8": "the PyTorch model with its Linear layers dynamically quantised to int8 when loaded",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a model for fast CPU encoding (ONNX, int8)")
    formats = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")
    for name in FORMATS:
        format_parser = formats.add_parser(name, help=FORMAT_HELP[name])
        _add_options(format_parser, onnx=name == "onnx")
        format_parser.set_defaults(func=run)


def _add_options(parser: argparse.ArgumentParser, *, onnx: bool) -> None:
    parser.add_argument("--model", required=True, help="sentence-transformers model folder (or hub name)")
    parser.add_argument("--output", required=True, type=Path, help="new (or empty) folder for the export")
    if onnx:
        parser.add_argument("--int8", action="store_true", help="int8 dynamic quantisation (ONNX Runtime)")
        parser.add_argument(
            "--opset",
            type=Number(int, minimum=7),
            default=DEFAULT_OPSET,
            help="ONNX opset (default: %(default)s)",
        )
        parser.add_argument(
            "--exporter",
            choices=EXPORTERS,
            default="torchscript",
            help="torch.onnx exporter (default: %(default)s, several times faster to export encoders)",
        )
    parser.add_argument(
        "--max-length",
        type=Number(int, minimum=3),
        default=None,
        help="truncate inputs to N tokens (default: the model's)",
    )
    parser.add_argument(
        "--prefix", default="", help='text prepended to every sentence (e5 models: "query: "); recorded'
    )
    parser.add_argument(
        "--check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compare accuracy and speed with the original on Tatoeba after exporting (default: on)",
    )
    parser.add_argument(
        "--check-langs",
        default=DEFAULT_CHECK_LANGUAGES,
        help="Tatoeba languages of the check (default: %(default)s)",
    )
    parser.add_argument(
        "--data-root", default=None, help="benchmark data folder (default: $INTERLINGUA_DATA)"
    )
    parser.add_argument(
        "--repeats", type=POSITIVE_INT, default=3, help="timed encodings per model; the median counts"
    )
    parser.add_argument(
        "--batch-size", type=POSITIVE_INT, default=128, help="sentences per forward pass in the check"
    )
    parser.add_argument(
        "--threads",
        type=POSITIVE_INT,
        default=None,
        help="CPU threads for both models (default: torch's choice)",
    )


def run(args: argparse.Namespace) -> int:
    from interlingua.atomic import check_output_folder
    from interlingua.errors import ConfigError
    from interlingua.evaluation.export_check import check_export
    from interlingua.evaluation.tatoeba import load_tatoeba
    from interlingua.models.export import export_model

    check_output_folder(args.output)
    check_model_reference(args.model)
    data = None
    if args.check:  # read the test sets first: a missing data root should stop before a long export
        try:
            data = load_tatoeba(args.data_root, args.check_langs)
        except ConfigError as error:
            raise ConfigError(f"{error} (or skip the check with --no-check)") from error
    info = export_model(
        args.model,
        args.output,
        format=args.format,
        int8=getattr(args, "int8", False),
        max_length=args.max_length,
        prefix=args.prefix,
        opset=getattr(args, "opset", DEFAULT_OPSET),
        exporter=getattr(args, "exporter", "torchscript"),
    )
    size = (args.output / info.model_file).stat().st_size / 1e6
    kind = f"{info.format}{' int8' if info.int8 and info.format == 'onnx' else ''}"
    opset = f", opset {info.opset}" if info.opset else ""
    print(
        f"wrote {args.output} ({kind}{opset}, {info.dimension}-d, max length {info.max_length}, "
        f"{info.model_file} {size:.1f} MB, sha256 {info.sha256[:12]})"
    )
    if data is not None:
        check = check_export(
            args.output, data, repeats=args.repeats, batch_size=args.batch_size, threads=args.threads
        )
        print(check.to_table())
    return 0
