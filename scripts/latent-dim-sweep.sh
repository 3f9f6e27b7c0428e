#!/usr/bin/env bash
# Accuracy and PSNR vs latent dimension on the in-repo FashionMNIST subset (2,000 train /
# 500 test; validation = the last 200 training images). Prints a markdown table.
# Usage: scripts/latent-dim-sweep.sh [EPOCHS] [DIMS...]     (default: 20 epochs, 8 16 32 64 128)
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-20}; shift || true
DIMS=${*:-8 16 32 64 128}
D=data/fashion-mnist-subset
# HYPERINR=path/to/hyperinr uses that binary instead of building one.
if [ -z "${HYPERINR:-}" ]; then cargo build -q --release -p hyperinr-trainer; fi
H=${HYPERINR:-target/release/hyperinr}
echo "| latent dim | val accuracy | test accuracy (stored, int8) | test PSNR (dB) |"
echo "|---|---|---|---|"
for L in $DIMS; do
  R=runs/sweep/l$L
  rm -rf "$R"
  $H train --data $D --run "$R" --latent-dim "$L" --epochs "$EPOCHS" --batch 64 --backend flex --quiet 2>/dev/null
  for s in train val test; do $H fit --run "$R" --data $D --split $s --backend flex --quiet 2>/dev/null; done
  VAL=$($H classifier --run "$R" --backend flex 2>/dev/null | tail -1 | sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/')
  $H export --run "$R" --latents test --out "$R/model.hinr" >/dev/null
  E=$($H eval --model "$R/model.hinr" --data $D --split test --json)
  ACC=$(echo "$E" | sed 's/.*"accuracy":\([0-9.]*\).*/\1/')
  PSNR=$(echo "$E" | sed 's/.*"psnr_db":\([0-9.]*\).*/\1/')
  printf '| %s | %.3f | %.3f | %.2f |\n' "$L" "$VAL" "$ACC" "$PSNR"
done
