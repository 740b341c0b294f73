#!/usr/bin/env bash
# The main job: install interlingua into .venv, train a small cross-lingual encoder from scratch
# on 10 languages of the shared training data for a fixed wall-clock budget, then score it on
XX
#   INTERLINGUA_DATA  data root (default: ../shared/data beside the clone)
#   BUDGET            training time (default: 12m)
#   LANGS             languages (default: the 10 below)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export INTERLINGUA_DATA="${INTERLINGUA_DATA:-$(cd .. && pwd)/shared/data}"
LANGS="${LANGS:-deu,fra,spa,ita,por,nld,epo,dan,swe,pol}"
.venv/bin/interlingua train --recipe tr --langs "$LANGS" --budget "${BUDGET:-12m}" \
    --output runs/main --checkpoint-every 200 "$@"
