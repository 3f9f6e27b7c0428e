#!/usr/bin/env bash
# README's test command: installs what is missing, then runs every check CI runs.
# Usage: scripts/test.sh            (everything)
#        SKIP_CUDA_CHECK=1 scripts/test.sh   (skip compiling the cuda feature)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
command -v arm-none-eabi-size >/dev/null || need_apt+=(binutils-arm-none-eabi)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

step "toolchain (rust-toolchain.toml pins it and the thumbv7em target)"
rustup show active-toolchain
rustup target add thumbv7em-none-eabihf >/dev/null
rustup component add rustfmt clippy >/dev/null

# The firmware links with flip-link (firmware/.cargo/config.toml): stack overflow protection.
if ! command -v flip-link >/dev/null; then
  step "installing flip-link (the firmware's linker)"
  cargo install flip-link --locked
fi

step "format"
cargo fmt --all -- --check
(cd firmware && cargo fmt -- --check)

step "clippy (host workspace)"
cargo clippy --workspace --all-targets -- -D warnings

step "runtime for Cortex-M4F"
cargo build -p hyperinr-runtime --target thumbv7em-none-eabihf --release

step "clippy (firmware, both board configurations, on a synthetic model)"
mkdir -p target
cargo run -q --release -p hyperinr-tests --bin hyperinr-synthetic-model -- fashion-mnist target/ci-synthetic.hinr
(cd firmware && export HYPERINR_MODEL=target/ci-synthetic.hinr \
  && cargo clippy --release -- -D warnings \
  && cargo clippy --release --no-default-features --features stm32f405,rtt -- -D warnings \
  && cargo clippy --release --features stack-overflow-check -- -D warnings)

if [ "${SKIP_CUDA_CHECK:-0}" != 1 ]; then
  step "trainer with the cuda feature compiles"
  cargo check -p hyperinr-trainer --features cuda
fi

step "the dataset readers' fuzz targets build against hyperinr-data (no burn)"
cargo check -q --manifest-path datasets/fuzz/Cargo.toml --bins

step "tests"
cargo test --workspace --release
