"""``interlingua student``: a small student initialised from a teacher (every option a StudentConfig key)."""

from __future__ import annotations

import argparse

from interlingua.cli.options import add_dataclass_options, settings_from


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "student",
        help="make a small student from a big teacher (pruned vocabulary, fewer layers, or static)",
        description="Write a sentence-transformers folder initialised from the teacher: its pieces that "
        "the given languages use, and N of its layers (or, with --static, one vector per piece). Train it "
        "with `interlingua train --recipe distill --pretrained DIR --teacher T`.",
    )
    from interlingua.models.student_config import StudentConfig

    add_dataclass_options(parser, StudentConfig)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from interlingua.models.student import make_student
    from interlingua.models.student_config import StudentConfig

    record = make_student(settings_from(args, StudentConfig))
    layers = f"layers {record.layers}" if record.layers is not None else "static"
    print(
        f"wrote a {record.kind} student to {args.output}: {record.pieces_kept:,} of "
        f"{record.teacher_pieces:,} pieces ({record.lines_counted:,} lines counted), {layers}"
    )
    return 0
