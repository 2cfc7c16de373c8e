#!/usr/bin/env bash
# Runs every fuzz target in turn for MINUTES minutes each (default 1), coverage-guided by
# libFuzzer through cargo-fuzz, on the stable toolchain (no sanitizer: wormtrace has no
# unsafe code on these paths beyond the SIMD search, which the tests compare with the scalar
# one). Crashes land in fuzz/artifacts/<target>/; copy each into fuzz/regressions/<target>/
# so that `tests/fuzz_regressions.rs` replays it from then on.
# Needs: cargo install cargo-fuzz; a C++ compiler (libFuzzer is built from source).
# Usage: fuzz/run.sh [MINUTES] [TARGET...]   (FUZZ_SECONDS=N overrides MINUTES)
# libdeflate (C, built by the cc crate) is not instrumented unless clang builds it:
# CC=clang CFLAGS=-fsanitize=fuzzer-no-link fuzz/run.sh 15 whole_gzip guides the fuzzer
# through its decoder too.
# FUZZ_RUNS=N runs N inputs a target from a fixed seed (FUZZ_SEED, default 1) instead of for a
# time: CI's smoke run, so that the same commit meets the same inputs on every CI machine.
set -euo pipefail
cd "$(dirname "$0")"
minutes=${1:-1}
shift || true
targets=("$@")
seconds=${FUZZ_SECONDS:-$((minutes * 60))}
# libFuzzer takes 0 as "no limit".
[ "$seconds" -gt 0 ] || { echo "run for at least a second" >&2; exit 2; }
if [ -n "${FUZZ_RUNS:-}" ]; then
  budget=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}")
  amount="$FUZZ_RUNS inputs"
else
  budget=(-max_total_time="$seconds")
  amount="$seconds s"
fi
[ ${#targets[@]} -gt 0 ] || targets=(scan_input log_line sigma_rule host_file netstat capture whole_gzip)
[ -d corpus ] || ./seed.sh
log=run.log
: > "$log"
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== $t for $amount" | tee -a "$log"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$t" "corpus/$t" -- \
    "${budget[@]}" -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 2>&1 |
    grep -E -A2 '^(#[0-9]+.*(DONE|pulse|INITED)|stat::|==|SUMMARY|artifact|thread .* panicked)' |
    grep -v '^--$' | tee -a "$log" || true
  ls "artifacts/$t" | sed "s/^/crash: $t\//" | tee -a "$log"
done
# Any crash fails the run.
! grep -q '^crash: ' "$log"
