#!/usr/bin/env bash
# Create .venv and install interlingua with its test tools.  torch is pinned first: the pin takes
# the CPU wheel from the machine's local wheel folder instead of a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
