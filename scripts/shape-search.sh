#!/usr/bin/env bash
# The shape recipe search of issue 20 on ModelNet10, one candidate after another (2 cores:
# never two trainings at once), cheapest first. Each candidate appends one JSON line to
# runs/shape-search/results.jsonl (scripts/shape-candidate.sh). Decisions on val only.
# Usage: scripts/shape-search.sh [phase]   (phase 1: φ and fitting; 2: classifier / augmentation)
set -uo pipefail
cd "$(dirname "$0")/.."
C=scripts/shape-candidate.sh
case "${1:-1}" in
1)
  # The reference: docs/runs/modelnet10-v2.sh (SiLU φ + linear path, 1,024 queries, batch 32,
  # 120 + 30 epochs, fit 30 steps, classifier input noise 0.2).
  $C ref
  FROM=ref FIT_STEPS=100 $C ref-fit100
  # Query sampling: tighter near-surface noise and fewer uniform queries; a wider clamp.
  $C near-tight --udf-sigmas 0.005,0.01,0.03 --udf-uniform-fraction 0.1
  $C clamp02 --udf-clamp 0.2
  # Twice the epochs.
  EPOCHS1=240 EPOCHS2=300 $C ep300
  # A larger latent (host model only: the board keeps 64).
  $C latent128 --latent-dim 128
  ;;
esac
