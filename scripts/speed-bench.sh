#!/usr/bin/env bash
# Side-by-side CPU speed figures of docs/speed.md, one JSON line each: the old path (an
# older `hyperinr` binary given as OLD, e.g. a build of the commit before the fused op) and
# this build's composed and fused SIREN, for a training step and a fitting step.
# Usage: OLD=/path/to/old/hyperinr scripts/speed-bench.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
H=${HYPERINR:-target/release/hyperinr}
STEPS=${1:-10}
if [ -n "${OLD:-}" ]; then
  echo "# old: $OLD bench --backend flex --steps $STEPS --batch 128 --json"
  "$OLD" bench --backend flex --steps "$STEPS" --batch 128 --json
fi
for op in composed fused; do
  echo "# $H bench --stage train --backend flex --steps $STEPS --batch 128 --siren-op $op --json"
  $H bench --stage train --backend flex --steps "$STEPS" --batch 128 --siren-op $op --json
done
echo "# $H bench --stage train --backend flex --steps $STEPS --batch 128 --pixels 196 --siren-op fused --json"
$H bench --stage train --backend flex --steps "$STEPS" --batch 128 --pixels 196 --siren-op fused --json
# The shipped FashionMNIST φ (SiLU, linear path): the bench's train_epoch_s beside a real
# epoch's metrics.csv seconds (docs/speed.md, "Real runs against the bench").
for px in 0 196; do
  echo "# $H bench --stage train --backend flex --steps 40 --batch 128 --pixels $px --hyper-activation silu --linear-path --json"
  $H bench --stage train --backend flex --steps 40 --batch 128 --pixels $px --hyper-activation silu --linear-path --json
done
for op in composed fused; do
  echo "# $H bench --stage fit --backend flex --steps 5 --siren-op $op --json"
  $H bench --stage fit --backend flex --steps 5 --warmup 1 --siren-op $op --json
done
