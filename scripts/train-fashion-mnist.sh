#!/usr/bin/env bash
# How the shipped FashionMNIST models are trained, end to end, on the 2 CPU cores of a
# session (fused SIREN op, burn-flex): joint training with two learning-rate decays, then
# every split's latents fitted the same way (φ frozen, 100 Adam steps), the classifier on the
# re-fitted training latents, int8 export (host model with all 10,000 test latents, MCU model
# with the first 1,000), and the test-set figures.
# Usage: scripts/train-fashion-mnist.sh [RUN_DIR]    (default runs/fmnist-v2)
# ≈ 15 min of training and ≈ 12 min of fitting on 2 quiet cores (docs/recipe.md).
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-runs/fmnist-v2}
D=${D:-/usr/share/datasets/fashion-mnist}
H=${HYPERINR:-target/release/hyperinr}
PHI=${PHI:---hyper-activation silu --linear-path}
# shellcheck disable=SC2086
$H train --data "$D" --run "$R" --epochs 120 --backend flex --pixels 196 $PHI --quiet
$H train --data "$D" --run "$R" --epochs 150 --backend flex --resume --lr-hyper 3e-4 --lr-latent 5e-3 --quiet
$H train --data "$D" --run "$R" --epochs 165 --backend flex --resume --lr-hyper 1e-4 --lr-latent 2.5e-3 --pixels 0 --quiet
for s in test val train; do
  $H fit --run "$R" --data "$D" --split $s --steps "${FIT_STEPS:-100}" --backend flex --quiet
done
$H classifier --run "$R" --train-latents train --input-noise 0.2 --backend flex
if [ "${EXPORT:-1}" = 1 ]; then
  $H export --run "$R" --latents test --out models/fashion-mnist.hinr
  $H export --run "$R" --latents test:1000 --out models/fashion-mnist-mcu.hinr
  $H eval --model models/fashion-mnist.hinr --dataset fashion-mnist --data "$D" --split test --json
fi
