"""Start-up: whole-process seconds of a one-sentence ``interlingua encode``, and of ``interlingua --help``.

One command:

    .venv/bin/python benchmarks/startup.py --model static=runs/static-student \
        --model onnx=runs/student-onnx --model pytorch=runs/student [--runs 5] [--src OLD/src]

Each command runs in a new process, once untimed (to fill the page cache, as a user's second call
finds it) and then ``--runs`` times; the median counts.  ``--src`` runs another source tree (the
code before a change) with the same interpreter and packages, by putting it first on PYTHONPATH.

Writes runs/benchmarks/startup[-LABEL].json (settings, machine, load average, every time) and
prints a markdown table.  Timings need an otherwise idle machine: the JSON records the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "Der Hund schläft im Garten."


def timed(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of ``command`` after one untimed run; a failure stops the benchmark."""
    seconds = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
        if attempt:
            seconds.append(time.perf_counter() - started)
    return seconds


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[], help="LABEL=PATH, repeatable")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--src", type=Path, help="source tree to run instead of the installed one")
    parser.add_argument("--label", default="", help="suffix of the JSON file (e.g. before)")
    args = parser.parse_args()

    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.src.resolve()), env.get("PYTHONPATH")]))
    cli = [sys.executable, "-m", "interlingua"]
    with tempfile.TemporaryDirectory() as scratch:
        text = Path(scratch) / "one.txt"
        text.write_text(SENTENCE + "\n", encoding="utf-8")
        commands = {"--help": [*cli, "--help"]}
        for label, path in (item.split("=", 1) for item in args.model):
            commands[f"encode {label}"] = [*cli, "encode", "--model", path, "--input", str(text)]
            commands[f"encode {label}"] += ["--output", str(Path(scratch) / "out.npy")]
        load = os.getloadavg()
        times = {name: timed(command, env, args.runs) for name, command in commands.items()}

    result = {
        "sentence": SENTENCE,
        "runs": args.runs,
        "source": str(args.src or REPO / "src"),
        "models": dict(item.split("=", 1) for item in args.model),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "load_average_at_start": load},
        "seconds": times,
        "median": {name: statistics.median(values) for name, values in times.items()},
    }
    out = REPO / "runs" / "benchmarks" / f"startup{'-' + args.label if args.label else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"| command | median s | min | max |  ({cpu_model()}, load {load[0]:.1f})\n|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| interlingua {name} | {median:.2f} | {min(values):.2f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
