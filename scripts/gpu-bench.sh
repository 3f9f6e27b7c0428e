#!/usr/bin/env bash
# GPU training-speed sweep for `hyperinr bench` (issue 8): one prepared run on a machine with an
# NVIDIA GPU, nothing installed or downloaded there. Results: one JSON line per variant in
# $OUT/gpu-bench.jsonl (the bench's own JSON plus variant, card, rc, wall_s, cmd), logs in
# $OUT/logs/, and cubecl's autotune + compiled-kernel (PTX) caches in $OUT/cubecl-cache/ to carry
# into the next run. See docs/gpu-bench.md for the table these lines fill.
#
# cubecl takes its settings from the first cubecl.toml in the working directory or above it (and
# CUBECL_* variables): each variant runs in its own directory with a cubecl.toml written here
# (cache directories, log files; a copy goes to $OUT/logs/<variant>.cubecl.toml); the autotune
# level rows set CUBECL_AUTOTUNE_LEVEL. The bench reads the log files back from cubecl's
# configuration and reports it (`cubecl` in its JSON).
#
# Build here (a CUDA release build takes ~8 min on 2 cores; nothing CUDA is needed to build):
#   CUDARC_CUDA_VERSION=13000 cargo build --release -p hyperinr-trainer --features cuda
#   mkdir -p gpu && xz -T0 -9 -c target/release/hyperinr > gpu/hyperinr.xz   # ~39 MB -> ~5 MB
#   # (gpu/ is git-ignored: name it in the device tool's `carry`, e.g. carry: ["gpu"])
# Carry a cache from an earlier run (optional; makes the "warm" rows warm from the start):
#   rm -rf gpu/cubecl-cache && cp -r <files_at>/cubecl-cache gpu/cubecl-cache
# Run on the device machine (repository root; $OUT is set by the device tool):
#   bash scripts/gpu-bench.sh [gpu/hyperinr.xz]
#
# Environment:
#   OUT                  where results go (default ./gpu-bench-out)
#   GPU_BENCH_BUDGET_S   wall-clock budget of the whole sweep in seconds (default 420); a variant
#                        that cannot finish inside it is cut short or skipped, never the sweep
#   GPU_BENCH_ONLY       space-separated variant names to run (default: all, in priority order)
#   GPU_CACHE_IN         carried cache folder (default gpu/cubecl-cache)
#   HYPERINR             use this (unpacked) binary instead of unpacking the xz file
#   GPU_BENCH_DRY=1      plumbing check without a GPU: every variant runs `--backend flex` with
#                        2 steps (a CPU binary will do; cubecl is not used, so the cubecl.toml
#                        files are only written, and checked with python3's tomllib if present),
#                        nvidia-smi is optional
# CUBECL_AUTOTUNE_LEVEL, CUBECL_DEBUG_LOG and CUBECL_DEBUG_OPTION from the caller are unset: each
# variant's settings are its cubecl.toml.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

START=$(date +%s)
BIN_XZ=${1:-gpu/hyperinr.xz}
OUT=${OUT:-$PWD/gpu-bench-out}
BUDGET=${GPU_BENCH_BUDGET_S:-420}
CACHE_IN=${GPU_CACHE_IN:-gpu/cubecl-cache}
DRY=${GPU_BENCH_DRY:-0}
ONLY=${GPU_BENCH_ONLY:-}
mkdir -p "$OUT/logs" "$OUT/cubecl-cache"
OUT=$(cd "$OUT" && pwd)
JSONL=$OUT/gpu-bench.jsonl
LOGS=$OUT/logs
CACHE=$OUT/cubecl-cache
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hyperinr-gpu-bench.XXXXXX")
unset CUBECL_AUTOTUNE_LEVEL CUBECL_DEBUG_LOG CUBECL_DEBUG_OPTION
SAMPLER=
cleanup() {
  if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

note() { printf '[gpu-bench %4ss] %s\n' "$(($(date +%s) - START))" "$*" | tee -a "$LOGS/sweep.log" >&2; }

# JSON string body: backslashes, quotes, newlines and tabs escaped, other control bytes dropped.
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/ }
  s=${s//$'\n'/\\n}
  printf '%s' "$s" | tr -d '\000-\010\013-\037'
}

# --- the binary ---------------------------------------------------------------------------
if [ -n "${HYPERINR:-}" ]; then
  # Absolute: every variant runs in its own directory.
  case $HYPERINR in
    /*) BIN=$HYPERINR ;;
    */*) BIN=$PWD/$HYPERINR ;;
    *) BIN=$(command -v "$HYPERINR") || { note "HYPERINR=$HYPERINR: not found"; exit 2; } ;;
  esac
else
  BIN=$WORK/hyperinr
  if [ ! -f "$BIN_XZ" ]; then
    note "no binary at $BIN_XZ (build it as the header says, and carry gpu/)"
    exit 2
  fi
  if command -v xz >/dev/null; then
    xz -dc "$BIN_XZ" > "$BIN"
  elif command -v python3 >/dev/null; then
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$BIN_XZ" "$BIN"
  else
    note "neither xz nor python3 here to unpack $BIN_XZ"
    exit 2
  fi
  chmod +x "$BIN"
fi

# --- CUDA libraries (NOTES.md: driver 580, CUDA 13.0) ----------------------------------------
for d in /usr/local/cuda-13.0/targets/x86_64-linux/lib /usr/lib /usr/lib/x86_64-linux-gnu; do
  if [ -d "$d" ]; then LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}; fi
done
export LD_LIBRARY_PATH
# cubecl-cuda's NVRTC needs the CUDA headers under $CUDA_PATH/include (default /usr/local/cuda).
if [ -z "${CUDA_PATH:-}" ] && [ ! -d /usr/local/cuda/include ] && [ -d /usr/local/cuda-13.0/include ]; then
  export CUDA_PATH=/usr/local/cuda-13.0
fi

CARD=unknown
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -L | tee "$LOGS/nvidia-smi-L.txt" >&2
  nvidia-smi > "$LOGS/nvidia-smi.txt" 2>&1
  CARD=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
  # GPU utilisation every 200 ms for the whole sweep: with the rows' started_unix / wall_s it
  # shows whether the GPU is busy (device-bound) or waiting for the host (host-bound).
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -lms 200 \
    > "$LOGS/gpu-util.csv" 2>/dev/null &
  SAMPLER=$!
elif [ "$DRY" != 1 ]; then
  note "nvidia-smi not found: no NVIDIA GPU here (GPU_BENCH_DRY=1 checks the plumbing only)"
  exit 2
fi
[ "$DRY" = 1 ] && CARD="dry run (no GPU): $CARD"
note "card: $CARD; binary: $BIN; budget ${BUDGET}s"
"$BIN" --version >&2 || { note "the binary does not start"; exit 2; }

# --- caches --------------------------------------------------------------------------------
RESTORED=0
if [ -d "$CACHE_IN" ] && [ -n "$(ls -A "$CACHE_IN" 2>/dev/null)" ]; then
  cp -r "$CACHE_IN/." "$CACHE/"
  RESTORED=1
  note "restored cubecl cache from $CACHE_IN ($(du -sh "$CACHE" | cut -f1))"
fi
# cubecl guards each cache file with a `<file>.lock`; a variant killed by its timeout leaves one
# behind, and the next process would wait up to 30 s for it. Only this script runs here.
drop_locks() { find "$CACHE" "$WORK" -name '*.lock' -type f -delete 2>/dev/null; }

# --- one variant's cubecl.toml -------------------------------------------------------------
# cubecl_toml FILE TUNE PTX LOG KERNELS: autotune results under TUNE, PTX under PTX (cubecl adds
# autotune/0.10.0/... and cuda/0.10.0/ptx/ below them: the layout carried in cubecl-cache/);
# compilations (basic) and autotune results (full) appended to LOG unless it is empty; one line
# per kernel launch (profiling minimal) appended to KERNELS unless it is empty. A key left out
# takes cubecl's default: autotune level balanced, CUBECL_AUTOTUNE_LEVEL on top.
cubecl_toml() {
  local file=$1 tune=$2 ptx=$3 log=$4 kernels=$5 p
  for p in "$tune" "$ptx" "$log" "$kernels"; do
    # TOML literal strings ('...') take any path without escapes but a single quote.
    if [[ $p == *"'"* ]]; then
      note "a path with a single quote cannot go into cubecl.toml: $p"
      return 1
    fi
  done
  {
    printf '# %s: written by scripts/gpu-bench.sh\n' "$(basename "$(dirname "$file")")"
    printf "[autotune]\ncache = { file = '%s' }\n" "$tune"
    printf "[compilation]\ncache = { file = '%s' }\n" "$ptx"
    if [ -n "$log" ]; then
      printf "[compilation.logger]\nlevel = \"basic\"\nfile = '%s'\n" "$log"
      printf "[autotune.logger]\nlevel = \"full\"\nfile = '%s'\n" "$log"
    fi
    if [ -n "$kernels" ]; then
      printf "[profiling.logger]\nlevel = \"minimal\"\nfile = '%s'\n" "$kernels"
    fi
  } > "$file"
  if [ "$DRY" = 1 ] && command -v python3 >/dev/null; then
    python3 - "$file" <<'PY' || return 1
import sys
try:
    import tomllib
except ImportError:
    sys.exit(0)
with open(sys.argv[1], "rb") as f:
    tomllib.load(f)
PY
  fi
}

# --- one variant ---------------------------------------------------------------------------
# run NAME TIMEOUT_S [tune=DIR] [ptx=DIR] [log=0|1] [kernels=0|1] [level=L] -- BENCH_ARGS...:
# one `hyperinr bench` with --json in $WORK/runs/NAME (its cubecl.toml: caches TUNE and PTX,
# default the carried ones in $CACHE; log=1 (default): compilations and autotune results in
# $LOGS/NAME.cubecl.log; kernels=1: kernel launches in $LOGS/NAME.kernels.log; level: the
# autotune level, as CUBECL_AUTOTUNE_LEVEL), one line in $JSONL.
run() {
  local name=$1 limit=$2
  shift 2
  local tune=$CACHE/autotune ptx=$CACHE/ptx log=1 kernels=0 level=
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    case $1 in
      tune=*) tune=${1#tune=} ;;
      ptx=*) ptx=${1#ptx=} ;;
      log=*) log=${1#log=} ;;
      kernels=*) kernels=${1#kernels=} ;;
      level=*) level=${1#level=} ;;
      *) note "run $name: unknown setting $1"; return 1 ;;
    esac
    shift
  done
  [ "${1:-}" = -- ] && shift
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
  local left=$((BUDGET - ($(date +%s) - START)))
  if [ "$left" -lt 25 ]; then
    note "skip $name: ${left}s of the budget left"
    printf '{"variant":"%s","card":"%s","skipped":"budget: %ss left"}\n' \
      "$name" "$(json_str "$CARD")" "$left" >> "$JSONL"
    return 0
  fi
  [ "$limit" -gt $((left - 5)) ] && limit=$((left - 5))
  local args=("$@")
  if [ "$DRY" = 1 ]; then
    local i
    for i in "${!args[@]}"; do
      case ${args[$i]} in
        cuda | cuda-nofusion) args[i]=flex ;;
        --steps) args[i + 1]=2 ;;
        --warmup) args[i + 1]=1 ;;
      esac
    done
  fi
  local dir=$WORK/runs/$name
  mkdir -p "$dir"
  local logf= kernf=
  [ "$log" = 1 ] && logf=$LOGS/$name.cubecl.log
  [ "$kernels" = 1 ] && kernf=$LOGS/$name.kernels.log
  if ! cubecl_toml "$dir/cubecl.toml" "$tune" "$ptx" "$logf" "$kernf"; then
    printf '{"variant":"%s","card":"%s","error":"cubecl.toml"}\n' "$name" "$(json_str "$CARD")" >> "$JSONL"
    note "FAILED $name: its cubecl.toml"
    return 0
  fi
  cp "$dir/cubecl.toml" "$LOGS/$name.cubecl.toml"
  drop_locks
  local envs=()
  [ -n "$level" ] && envs=("CUBECL_AUTOTUNE_LEVEL=$level")
  local cmd="${envs[*]}${envs[*]:+ }hyperinr bench ${args[*]} --json"
  note "run $name (timeout ${limit}s): $cmd"
  local t0 t1 rc line
  t0=$(date +%s.%N)
  (cd "$dir" && env "${envs[@]}" timeout --kill-after=5 "$limit" "$BIN" bench "${args[@]}" --json) \
    > "$LOGS/$name.out" 2> "$LOGS/$name.err"
  rc=$?
  t1=$(date +%s.%N)
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  line=$(grep '^{' "$LOGS/$name.out" | tail -n 1)
  local meta
  meta=$(printf '"variant":"%s","card":"%s","rc":%s,"wall_s":%s,"started_unix":%s,"cmd":"%s"' \
    "$name" "$(json_str "$CARD")" "$rc" "$wall" "${t0%.*}" "$(json_str "$cmd")")
  if [ "$rc" = 0 ] && [ -n "$line" ]; then
    printf '{%s,%s\n' "$meta" "${line#\{}" >> "$JSONL"
    note "done $name in ${wall}s: $(printf '%s' "$line" | grep -o '"ms_per_step":[0-9.e+-]*')"
  else
    local why
    case $rc in
      124 | 137) why="timed out after ${limit}s" ;;
      *) why=$(tail -n 5 "$LOGS/$name.err") ;;
    esac
    printf '{%s,"error":"%s"}\n' "$meta" "$(json_str "$why")" >> "$JSONL"
    note "FAILED $name (rc $rc): $why"
  fi
  # Keep what comes back small.
  if [ -f "$LOGS/$name.err" ] && [ "$(wc -c < "$LOGS/$name.err")" -gt 200000 ]; then
    tail -c 200000 "$LOGS/$name.err" > "$LOGS/$name.err.tail" && mv "$LOGS/$name.err.tail" "$LOGS/$name.err"
  fi
}

# --- the sweep, most important first ------------------------------------------------------
# Every variant is the default FashionMNIST HyperINR (SIREN 2-32-32-1, latent 64, hypernetwork
# 64-256-256-1185) on synthetic 28x28 images; a step is a full training step.

# 1. Cold: empty caches. Warm-up = NVRTC compilation + autotune; the cubecl log counts both,
#    separately for the warm-up and the timed steps (anything in the timed steps is a bug).
run fused-b128-cold 150 tune="$WORK/cold/autotune" ptx="$WORK/cold/ptx" -- \
  --backend cuda --batch 128 --warmup 30 --steps 200
if [ "$RESTORED" = 0 ] && [ -d "$WORK/cold" ]; then cp -r "$WORK/cold/." "$CACHE/"; fi

# 2. Warm: the persisted caches (target: warm-up <= 30 s, epoch <= 1.38 s).
run fused-b128-warm 90 -- --backend cuda --batch 128 --warmup 30 --steps 300

# 3. Without fusion (one kernel per tensor op). Its own kernels join the cache here.
run nofusion-b128 120 -- --backend cuda-nofusion --batch 128 --warmup 30 --steps 300

# 4. Larger batches: fewer steps per epoch (scale the learning rate when training with them).
run fused-b2048 120 -- --backend cuda --batch 2048 --warmup 15 --steps 40
run fused-b512 90 -- --backend cuda --batch 512 --warmup 20 --steps 100

# 5. Kernels per step (logging each launch costs time: read kernels_per_step, not ms_per_step).
run fused-b128-kernels 60 kernels=1 -- --backend cuda --batch 128 --warmup 10 --steps 20
run nofusion-b128-kernels 60 kernels=1 -- --backend cuda-nofusion --batch 128 --warmup 10 --steps 20

# 6. Synchronisation: two device round trips per step instead of one; no extra sync per step.
run fused-b128-two-reads 45 -- --backend cuda --batch 128 --warmup 10 --steps 200 --two-reads
run fused-b128-no-step-sync 45 -- --backend cuda --batch 128 --warmup 10 --steps 200 --no-step-sync

# 7. More batch sizes without fusion.
run nofusion-b2048 120 -- --backend cuda-nofusion --batch 2048 --warmup 15 --steps 40

# 8. Autotune levels: a cold autotune cache each (the level changes the keys), warm PTX cache.
run fused-b128-at-minimal 90 level=minimal tune="$WORK/at-minimal" -- \
  --backend cuda --batch 128 --warmup 30 --steps 200
run fused-b128-at-full 90 level=full tune="$WORK/at-full" -- \
  --backend cuda --batch 128 --warmup 30 --steps 200

drop_locks
for f in "$LOGS"/*.cubecl.log "$LOGS"/*.kernels.log; do
  if [ -f "$f" ]; then gzip -f "$f"; fi
done
note "done: $(grep -c . "$JSONL") lines in $JSONL; cache $(du -sh "$CACHE" | cut -f1) in $CACHE"
