#!/usr/bin/env bash
# Augmentation candidates of the shape search (issue 20): the reference run's φ and its
# re-fitted training latents, plus K augmented copies of every training shape fitted with φ
# frozen (fit --augment), the classifier trained on both; one JSON line per candidate in
# runs/shape-search/results.jsonl.
# Usage: scripts/shape-augment.sh NAME FROM COPIES [fit --augment-* flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=$1; FROM=$2; COPIES=$3; shift 3
H=${HYPERINR:-/tmp/hyperinr-search/hyperinr}
M=${M:-/work/shared/data/modelnet40}
R=runs/shape-search/$NAME
rm -rf "$R"; cp -r "runs/shape-search/$FROM" "$R"
t0=$(date +%s.%N)
$H fit --run "$R" --data "$M" --split train --augment "$COPIES" --backend flex --quiet "$@" 2> "$R/fit-train-aug.log"
t1=$(date +%s.%N)
CLF=$($H classifier --run "$R" --backend flex --train-latents train,train-aug --input-noise 0.2 2> "$R/classifier.log" | tail -1)
t2=$(date +%s.%N)
ACC=$(echo "$CLF" | sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/')
python3 - "$NAME" "$FROM" "$COPIES" "$*" "$ACC" "$t0" "$t1" "$t2" <<'PY' | tee -a runs/shape-search/results.jsonl
import json, sys
n, f, c, flags, acc, t0, t1, t2 = sys.argv[1:]
t0, t1, t2 = map(float, (t0, t1, t2))
print(json.dumps({"name": n, "dataset": "modelnet10", "train_flags": "(phi of %s)" % f,
  "fit_steps": 30, "fit_flags": ("--augment %s %s" % (c, flags)).strip(),
  "train_latents": "train,train-aug", "classifier_flags": "--input-noise 0.2",
  "val_accuracy": float(acc), "train_s": 0.0, "fit_s": round(t1 - t0, 1),
  "classifier_s": round(t2 - t1, 1)}))
PY
