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
wt=./target/release/wormtrace
peer="rg -c 'default\\.ida|root\\.exe|cmd\\.exe|\\.\\.%255c|\\.\\.%c[01]' $log"
cat "$log" > /dev/null   # warm the page cache
echo "== findings (must equal the injected counts in $log.counts.json)"
$wt scan --format jsonl --quiet "$log" | grep -o '"family":"[a-z-]*"' | sort | uniq -c || true
echo "== peak RSS"
for j in 1 2; do
  /usr/bin/time -f "wormtrace -j$j: %e s, %M KB max RSS" $wt scan --format jsonl --quiet -j$j -o /dev/null "$log" || true
done
/usr/bin/time -f "wormtrace -j1 + SigmaHQ: %e s, %M KB max RSS" $wt scan --format jsonl --quiet -j1 -o /dev/null --rules ../shared/sigma "$log" || true
echo "== timing (one hyperfine run, so the ratios compare like with like)"
hyperfine -N --warmup 1 --runs 5 -i \
  "$wt scan --format jsonl --quiet -j1 -o /dev/null $log" \
  "$wt scan --format jsonl --quiet -j2 -o /dev/null $log" \
  "$wt scan --format jsonl --quiet -j1 -o /dev/null --rules ../shared/sigma $log" \
  "$peer"
