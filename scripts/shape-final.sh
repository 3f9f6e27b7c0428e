#!/usr/bin/env bash
# The full shape run of issue 20 with the recipe chosen on val (docs/recipe.md, shapes):
# SiLU φ + linear path, 1,024 queries (80 % uniform in the cube, the UDF clamped at 0.2),
# batch 32, 120 epochs at 1e-3 / 1e-2 then 30 at 3e-4 / 5e-3, latents fitted with 30 steps,
# classifier input noise 0.2, class-balanced loss (seed 7), trained on the training and val
# latents together after their 5-fold cross-validation; then export and eval of the test
# split.
# Usage: scripts/shape-final.sh DATASET RUN [classifier --train-latents value]
#   env: M (data folder), HYPERINR (binary), AUGMENT (copies of the training split to fit,
#        0 = none), STAGE (train|fit|fit-test|rest: start there; fit-test fits the test split
#        only, for a search candidate's run whose val and train latents are fitted already),
#        TRAIN_FLAGS (more `train` flags, e.g. `--with-val --seed 1`), UNTIL (classifier: stop
#        after the cross-validated classifier, before anything reads the test split),
#        CLF_FLAGS (more `classifier` flags, e.g. `--hidden 128,128 --members 4`).
set -euo pipefail
cd "$(dirname "$0")/.."
DATASET=$1; R=$2; TL=${3:-train}
H=${HYPERINR:-/tmp/hyperinr-search/hyperinr}
M=${M:-/work/shared/data/modelnet40}
STAGE=${STAGE:-train}
mkdir -p "$R"
if [ "$STAGE" = train ]; then
  $H train --dataset "$DATASET" --data "$M" --run "$R" --epochs 120 --batch 32 --queries 1024 \
    --backend flex --hyper-activation silu --linear-path --udf-uniform-fraction 0.8 --udf-clamp 0.2 \
    ${TRAIN_FLAGS:-} --quiet 2> "$R/train.log"
  $H train --dataset "$DATASET" --data "$M" --run "$R" --epochs 150 --batch 32 --backend flex \
    --resume --lr-hyper 3e-4 --lr-latent 5e-3 --quiet 2>> "$R/train.log"
  STAGE=fit
fi
if [ "$STAGE" = fit-test ]; then
  $H fit --run "$R" --data "$M" --split test --backend flex --quiet 2> "$R/fit-test.log"
  STAGE=rest
fi
if [ "$STAGE" = fit ]; then
  SPLITS="val test train"
  [ "${UNTIL:-}" = classifier ] && SPLITS="val train"
  for s in $SPLITS; do
    $H fit --run "$R" --data "$M" --split $s --backend flex --quiet 2> "$R/fit-$s.log"
  done
  if [ "${AUGMENT:-0}" -gt 0 ]; then
    $H fit --run "$R" --data "$M" --split train --augment "$AUGMENT" --backend flex --quiet 2> "$R/fit-train-aug.log"
  fi
  STAGE=rest
fi
# The classifier: 5-fold cross-validation over the training and val latents pooled (the
# estimate the recipe decides on), then trained on the whole pool, which is what ships.
$H classifier --run "$R" --train-latents "$TL" --input-noise 0.2 --class-balance --folds 5 --backend flex \
  ${CLF_FLAGS:-} 2> "$R/classifier.log" | tee "$R/classifier-cv.json"
[ "${UNTIL:-}" = classifier ] && exit 0
$H export --run "$R" --latents test --out "$R/model.hinr" 2> "$R/export.log"
$H eval --model "$R/model.hinr" --dataset "$DATASET" --data "$M" --split test --json 2> "$R/eval.log" | tee "$R/eval-test.json"
