#!/usr/bin/env bash
# One candidate of the shape recipe search (issue 20): train on the training split (the
# validation split, the last tenth of the training files, held out), fit val and train
# latents with φ frozen, train the classifier on the re-fitted training latents, and append
# one JSON line (train UDF RMSE, fitted val MSE, val accuracy, the 5-fold cross-validated
# accuracy and balanced accuracy over train and val pooled, seconds per stage) to
# runs/shape-search/results.jsonl.
# Usage: scripts/shape-candidate.sh NAME [hyperinr train flags...]
#   env: DATASET (modelnet10), M (data folder), HYPERINR (binary; default
#        /tmp/hyperinr-search/hyperinr, a copy that a rebuild cannot change under a run),
#        EPOCHS1 (120: epochs at lr 1e-3 / 1e-2), EPOCHS2 (150: total after 3e-4 / 5e-3),
#        QUERIES (1024: query points per shape and step),
#        FIT_STEPS (30), FIT_FLAGS (more `fit --split train` flags, e.g. `--augment 2`),
#        CLF_FLAGS (classifier flags, default the recipe's --class-balance; its --input-noise
#        0.2 comes first),
#        TRAIN_LATENTS (train), FROM (reuse candidate FROM's trained φ: skip training).
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=$1; shift
H=${HYPERINR:-/tmp/hyperinr-search/hyperinr}
CLF_FLAGS=${CLF_FLAGS---class-balance}
M=${M:-/work/shared/data/modelnet40}
DATASET=${DATASET:-modelnet10}
EPOCHS1=${EPOCHS1:-120}; EPOCHS2=${EPOCHS2:-150}; FIT_STEPS=${FIT_STEPS:-30}
R=runs/shape-search/$NAME
mkdir -p runs/shape-search
rm -rf "$R"; mkdir -p "$R"
t0=$(date +%s.%N)
if [ -n "${FROM:-}" ]; then
  F=runs/shape-search/$FROM
  cp "$F"/config.json "$F"/data.sha256 "$F"/metrics.csv "$R"/
  cp -r "$F"/checkpoint* "$R"/
  FLAGS="(phi of $FROM)"
else
  FLAGS="$*"
  [ "${QUERIES:-1024}" = 1024 ] || FLAGS="--queries $QUERIES $FLAGS"
  $H train --dataset "$DATASET" --data "$M" --run "$R" --epochs "$EPOCHS1" --batch 32 --queries "${QUERIES:-1024}" \
    --backend flex --hyper-activation silu --linear-path --quiet "$@" 2> "$R/train.log"
  if [ "$EPOCHS2" -gt "$EPOCHS1" ]; then
    $H train --dataset "$DATASET" --data "$M" --run "$R" --epochs "$EPOCHS2" --batch 32 --backend flex \
      --resume --lr-hyper 3e-4 --lr-latent 5e-3 --quiet 2>> "$R/train.log"
  fi
fi
t1=$(date +%s.%N)
$H fit --run "$R" --data "$M" --split val --steps "$FIT_STEPS" --backend flex --quiet 2> "$R/fit-val.log"
# shellcheck disable=SC2086
$H fit --run "$R" --data "$M" --split train --steps "$FIT_STEPS" --backend flex --quiet ${FIT_FLAGS:-} 2> "$R/fit-train.log"
t2=$(date +%s.%N)
# shellcheck disable=SC2086
CLF=$($H classifier --run "$R" --backend flex --train-latents "${TRAIN_LATENTS:-train}" --input-noise 0.2 ${CLF_FLAGS:-} 2> "$R/classifier.log" | tail -1)
t3=$(date +%s.%N)
# shellcheck disable=SC2086
CV=$($H classifier --run "$R" --backend flex --train-latents "${TRAIN_LATENTS:-train}" --input-noise 0.2 ${CLF_FLAGS:-} --folds 5 2> "$R/classifier-cv.log" | tail -1)
echo "$CV" > "$R/classifier-cv.json"
TRAIN_RMSE=$(tail -1 "$R/metrics.csv" | cut -d, -f3)
VAL_MSE=$(sed -n 's/.*: mse \([0-9.e-]*\) .*/\1/p' "$R/fit-val.log" | tail -1)
ACC=$(echo "$CLF" | sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/')
python3 - "$NAME" "$DATASET" "$FLAGS" "$EPOCHS1" "$EPOCHS2" "$FIT_STEPS" "${FIT_FLAGS:-}" \
  "${TRAIN_LATENTS:-train}" "--input-noise 0.2 ${CLF_FLAGS:-}" "$TRAIN_RMSE" "$VAL_MSE" "$ACC" \
  "$t0" "$t1" "$t2" "$t3" "$CV" <<'PY' | tee -a runs/shape-search/results.jsonl
import json, sys
(n, ds, flags, e1, e2, fs, ff, tl, clf, tr, vm, acc, t0, t1, t2, t3, cv) = sys.argv[1:]
cv = json.loads(cv)
t0, t1, t2, t3 = map(float, (t0, t1, t2, t3))
print(json.dumps({"name": n, "dataset": ds, "train_flags": flags, "epochs": [int(e1), int(e2)],
  "fit_steps": int(fs), "fit_flags": ff, "train_latents": tl, "classifier_flags": clf.strip(),
  "train_udf_rmse": float(tr), "val_fit_mse": float(vm), "val_accuracy": float(acc),
  "cv_accuracy": cv["cv_accuracy"], "cv_balanced_accuracy": cv["cv_balanced_accuracy"],
  "cv_balanced_accuracy_se": cv["cv_balanced_accuracy_se"],
  "train_s": round(t1 - t0, 1), "fit_s": round(t2 - t1, 1), "classifier_s": round(t3 - t2, 1)}))
PY
