"""The ``interlingua`` command: parses arguments and hands them to the library.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, a callable taking the parsed ``argparse.Namespace`` and returning an exit
code.  A command line that names a subcommand registers only that one, so that ``interlingua
encode`` does not pay for importing what ``train`` needs to build its options (a quarter to half a
second on a 2-core machine); ``interlingua --help`` registers them all.  User errors print one line
on stderr and exit with code 2: ``InterlinguaError`` from the library, and command-line mistakes
(a misspelt option gets the closest valid one suggested).
"""

from __future__ import annotations

import argparse
import difflib
import os
import pickle
import sys
from collections.abc import Sequence
from typing import NoReturn

from interlingua import __version__
from interlingua.errors import InterlinguaError

SUBCOMMAND_MODULES = ("train", "student", "encode", "evaluate", "tokenizer", "mine", "export", "data")
COMMAND_MODULES = {"eval": "evaluate"}  # the commands not named as their module


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), like the toolkit's other errors.

    Subcommand parsers are created from their parent's class, so the whole tree behaves the same.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(message: str) -> str:
    """``message`` with its line breaks (and the indentation after them) folded into spaces."""
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every ``--option`` of ``parser`` and of the subcommands below it."""
    options: set[str] = set()
    for action in parser._actions:
        options.update(option for option in action.option_strings if option.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                options |= _long_options(subparser)
    return options


def _unrecognized(arguments: list[str], parser: argparse.ArgumentParser) -> str:
    """The error for arguments no option took, naming the closest option to the first one."""
    option = next((argument.split("=", 1)[0] for argument in arguments if argument.startswith("-")), None)
    if option is None:
        return f"unrecognized arguments: {' '.join(arguments)}"
    close = difflib.get_close_matches(option, sorted(_long_options(parser)), n=1)
    return f"unrecognized option {option}" + (f"; did you mean {close[0]}?" if close else "")


def _subcommand_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[name]


def _modules_for(argv: Sequence[str]) -> Sequence[str]:
    """The module of the subcommand ``argv`` names, or every module when it names none (or a
    misspelt one, for argparse to list the valid choices)."""
    command = next((argument for argument in argv if not argument.startswith("-")), "")
    module = COMMAND_MODULES.get(command, command)
    return [module] if module in SUBCOMMAND_MODULES else SUBCOMMAND_MODULES


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command's parser: with ``argv``, only the subcommand it names is registered."""
    import importlib

    parser = OneLineArgumentParser(
        prog="interlingua", description="Language-agnostic sentence embeddings from parallel text."
    )
    parser.add_argument("--version", action="version", version=f"interlingua {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES if argv is None else _modules_for(argv):
        importlib.import_module(f"interlingua.cli.{name}").register(subparsers)
    return parser


def close_progress_bars() -> None:
    """End the bars a stopped run left open, so that its error line starts a line of its own (a bar
    ends its line with a carriage return, not a newline)."""
    std = sys.modules.get("tqdm.std")
    if std is None:
        return
    # Each tqdm class (std, auto, notebook) may keep its own set of open bars.
    classes, bars = [std.tqdm], set()
    while classes:
        kind = classes.pop()
        classes.extend(kind.__subclasses__())
        bars.update(vars(kind).get("_instances", ()))
    for bar in bars:
        bar.close()


def quiet_libraries() -> None:
    """Silence the progress bars of transformers and the hub ("Loading weights", "Writing model
    shards"): they tell a user nothing to act on, around the toolkit's own bars and lines."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when transformers is imported
    transformers = sys.modules.get("transformers")  # None when blocked (a torch-free run's tests)
    if transformers is not None:  # already imported (a test, or a caller of main): tell it directly
        transformers.utils.logging.disable_progress_bar()


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = _subcommand_parser(parser, args.command)
        command.error(_unrecognized(unknown, command))
    quiet_libraries()
    try:
        return int(args.func(args) or 0)
    except InterlinguaError as error:
        close_progress_bars()
        print(f"interlingua {args.command}: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except pickle.UnpicklingError as error:
        # torch.load(weights_only=True) refused a model or checkpoint file.
        close_progress_bars()
        print(
            f"interlingua {args.command}: error: refused to load {_refused_file(error)}: it holds Python "
            "objects that could run code, not only tensors; use it only if you trust it, as safetensors",
            file=sys.stderr,
        )
        return 2


def _refused_file(error: BaseException) -> str:
    """The file ``torch.load`` refused: its message does not name it, its frame does."""
    name, trace = "a file", error.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        if code.co_name == "load" and code.co_filename.endswith(os.path.join("torch", "serialization.py")):
            name = str(trace.tb_frame.f_locals.get("f", name))
        trace = trace.tb_next
    return name


if __name__ == "__main__":
    sys.exit(main())
