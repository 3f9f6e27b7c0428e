#!/usr/bin/env bash
# The FashionMNIST recipe search of docs/recipe.md, one candidate after another at the
# budget of scripts/recipe-candidate.sh (first 5,000 training images, 40 epochs), every
# candidate scored on all 5,000 validation images and checked with `hyperinr ift` on 30 of
# them. The contenders get two more training seeds. Results: runs/recipe/results.jsonl.
# Usage: scripts/recipe-search.sh     (≈ 2–3 min a candidate on 2 quiet cores)
set -euo pipefail
cd "$(dirname "$0")/.."
C=scripts/recipe-candidate.sh
export VAL=5000 IFT=1
E=40
$C base $E
$C leaky $E --hyper-activation leaky-relu
$C silu $E --hyper-activation silu
$C linear $E --linear-path
$C silu-linear $E --hyper-activation silu --linear-path
$C silu-linear-ls2 $E --hyper-activation silu --linear-path --latent-steps 2
$C silu-linear-aux0.01 $E --hyper-activation silu --linear-path --aux-class-weight 0.01
$C silu-linear-px196 100 --hyper-activation silu --linear-path --pixels 196
$C silu-linear-l128 $E --hyper-activation silu --linear-path --latent-dim 128
for seed in 1 2; do
  $C base-s$seed $E --seed $seed
  $C silu-s$seed $E --hyper-activation silu --seed $seed
  $C silu-linear-s$seed $E --hyper-activation silu --linear-path --seed $seed
done
