#!/usr/bin/env bash
# What the progress bar costs, and how large the shipped binary is. Not part of the tests.
# Needs: hyperfine, valgrind. Usage: bench/progress.sh [BYTES]  (default 1000000000)
# Wall time on this 2-core VM varies by a few per cent from run to run, more than the bar
# costs, so the exact figure is the instruction count (cachegrind, 100 MB prefix; the bar
# ticks more often under valgrind, so this is an upper bound).
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-1000000000}
data=bench/data
mkdir -p "$data"
cargo build --release --workspace
wt=./target/release/wormtrace
log="$data/iis-$bytes.log"
[ -f "$log" ] || ./target/release/wormtrace-gen --big "$log" --bytes "$bytes"
head -c 100000000 "$log" > "$data/iis-100m.log"
cat "$log" > /dev/null
run() { echo "$wt scan -j$1 --progress $2 --format jsonl -o /dev/null $log"; }
hyperfine -N -i --warmup 2 --runs 20 \
    "$(run 1 never)" "$(run 1 always)" "$(run 2 never)" "$(run 2 always)"
for mode in never always; do
    printf 'instructions, --progress %s: ' "$mode"
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        --log-file="$data/cachegrind.txt" \
        "$wt" scan -j1 --progress "$mode" --format jsonl -o /dev/null "$data/iis-100m.log" \
        > /dev/null 2>&1 || true
    awk '/I *refs/ {print $NF}' "$data/cachegrind.txt"
done
printf 'release binary: %s bytes\n' "$(stat -c %s "$wt")"
