#!/usr/bin/env bash
# One candidate of the FashionMNIST recipe search at a fixed small budget: train on the first
# 5,000 training images, fit (φ frozen) those 5,000 and the first VAL validation images,
# train the classifier on the re-fitted training latents, and append one JSON line
# (val PSNR of the fitted latents, val accuracy, seconds per stage) to runs/recipe/results.jsonl.
# Usage: scripts/recipe-candidate.sh NAME EPOCHS [hyperinr train flags...]
#   env: VAL (default 1000; 5000 for finalists), FIT_STEPS (30), CLF_FLAGS (classifier flags),
#        IFT (1: export the first 30 val latents and add `hyperinr ift`'s full_rank_fraction
#        and rank_median), HYPERINR (binary; default target/release/hyperinr),
#        D (FashionMNIST folder)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=$1; EPOCHS=$2; shift 2
H=${HYPERINR:-target/release/hyperinr}
D=${D:-/usr/share/datasets/fashion-mnist}
VAL=${VAL:-1000}; FIT_STEPS=${FIT_STEPS:-30}
R=runs/recipe/$NAME
rm -rf "$R"; mkdir -p "$R"
t0=$(date +%s.%N)
$H train --data "$D" --run "$R" --limit 5000 --epochs "$EPOCHS" --backend flex --quiet "$@" 2> "$R/train.log"
t1=$(date +%s.%N)
$H fit --run "$R" --data "$D" --split train --limit 5000 --steps "$FIT_STEPS" --backend flex --quiet 2> "$R/fit-train.log"
$H fit --run "$R" --data "$D" --split val --limit "$VAL" --steps "$FIT_STEPS" --backend flex --quiet 2> "$R/fit-val.log"
t2=$(date +%s.%N)
# shellcheck disable=SC2086
CLF=$($H classifier --run "$R" --backend flex --input-noise 0.2 ${CLF_FLAGS:-} 2> "$R/classifier.log" | tail -1)
t3=$(date +%s.%N)
IFT_JSON=null
if [ "${IFT:-0}" = 1 ]; then
  $H export --run "$R" --latents val:30 --out "$R/model-val30.hinr" 2> "$R/export.log" > /dev/null
  IFT_JSON=$($H ift --model "$R/model-val30.hinr" --data "$D" --split val --limit 30 --json 2> "$R/ift.log" | tail -1)
fi
TRAIN_PSNR=$(tail -1 "$R/metrics.csv" | cut -d, -f3)
VAL_PSNR=$(sed -n 's/.*(psnr \([0-9.]*\) dB.*/\1/p' "$R/fit-val.log" | tail -1)
ACC=$(echo "$CLF" | sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/')
python3 - "$NAME" "$EPOCHS" "$*" "$TRAIN_PSNR" "$VAL_PSNR" "$ACC" "$t0" "$t1" "$t2" "$t3" "$VAL" "${CLF_FLAGS:-}" "$IFT_JSON" <<'PY' | tee -a runs/recipe/results.jsonl
import json, sys
n, e, flags, tp, vp, acc, t0, t1, t2, t3, val, clf, ift = sys.argv[1:]
t0, t1, t2, t3 = map(float, (t0, t1, t2, t3))
line = {"name": n, "epochs": int(e), "flags": flags, "classifier_flags": clf,
  "train_psnr_db": float(tp), "val_psnr_db": float(vp), "val_accuracy": float(acc),
  "val_samples": int(val), "train_s": round(t1 - t0, 1), "fit_s": round(t2 - t1, 1),
  "classifier_s": round(t3 - t2, 1)}
ift = json.loads(ift)
if ift is not None:
    line["ift_full_rank_fraction"] = ift["full_rank_fraction"]
    line["ift_rank_median"] = ift["rank_median"]
print(json.dumps(line))
PY
