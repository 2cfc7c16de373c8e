#!/usr/bin/env bash
# Throughput and memory of wormtrace beside ripgrep on a generated log, in one run.
# Not part of the tests. Needs: hyperfine, ripgrep (Debian packages), GNU time.
# Usage: bench/run.sh [BYTES]   (default 1000000000)
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-1000000000}
data=bench/data
mkdir -p "$data"
cargo build --release --workspace
log="$data/iis-$bytes.log"
[ -f "$log" ] || ./target/release/wormtrace-gen --big "$log" --bytes "$bytes" | tee "$log.counts.json"
cat "$log" > /dev/null   # warm the page cache
echo "== findings (must equal the injected counts in $log.counts.json)"
./target/release/wormtrace scan --format jsonl --quiet "$log" | grep -o '"family":"[a-z-]*"' | sort | uniq -c || true
echo "== peak RSS"
for j in 1 2; do
  /usr/bin/time -f "wormtrace -j$j: %e s, %M KB max RSS" ./target/release/wormtrace scan --format jsonl --quiet -j$j -o /dev/null "$log" || true
done
echo "== timing"
hyperfine --warmup 1 --runs 5 -i \
  "./target/release/wormtrace scan --format jsonl --quiet -j1 -o /dev/null $log" \
  "rg -c 'default\\.ida\\?[XN]' $log" \
  "rg -c 'default\\.ida' $log"
