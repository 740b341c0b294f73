#!/usr/bin/env bash
# The main job: install interlingua into .venv, train a small cross-lingual encoder from scratch
# on 10 languages of the shared training data for a fixed wall-clock budget, then score it on
# those languages' Tatoeba test sets and print the table.  About 17 minutes on 2 CPU cores.
#   INTERLINGUA_DATA  data root (default: ../shared/data beside the clone)
#   BUDGET            training time (default: 13m)
#   LANGS             languages (default: the 10 below)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export INTERLINGUA_DATA="${INTERLINGUA_DATA:-$(cd .. && pwd)/shared/data}"
LANGS="${LANGS:-deu,fra,spa,ita,por,nld,epo,dan,swe,pol}"
.venv/bin/interlingua train --recipe tr --langs "$LANGS" --budget "${BUDGET:-13m}" \
    --output runs/main --checkpoint-every 200 "$@"
