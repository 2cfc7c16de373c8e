#!/usr/bin/env bash
# Throughput and memory of wormtrace beside Suricata on a generated capture, in one run.
# Not part of the tests. Needs: hyperfine, suricata (bookworm-backports), GNU time, jq.
# Usage: bench/capture.sh [BYTES]   (default 1000000000)
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-1000000000}
data=bench/data
mkdir -p "$data"
cargo build --release --workspace
cap="$data/capture-$bytes.pcap"
[ -f "$cap" ] || ./target/release/wormtrace-gen --big "$cap" --bytes "$bytes" --layout pcap | tee "$cap.counts.json"
wt=./target/release/wormtrace
rules=tests/suricata/reference.rules
suri_log=$(mktemp -d)
suri="suricata -r $cap -S $rules -l $suri_log -k none --runmode single --set unix-command.enabled=false"
cat "$cap" > /dev/null   # warm the page cache
echo "== wormtrace findings (must equal the injected counts in $cap.counts.json; the scanner adds one code-red-ii)"
$wt scan --format jsonl --quiet "$cap" | jq -r 'select(.type=="finding") | .family' | sort | uniq -c || true
echo "== Suricata alerts by sid (1243: .ida, 1256: root.exe, 1002: cmd.exe)"
$suri > /dev/null 2>&1 || true
jq -r 'select(.event_type=="alert") | .alert.signature_id' "$suri_log/eve.json" | sort | uniq -c
echo "== peak RSS"
/usr/bin/time -f "wormtrace -j1: %e s, %M KB max RSS" $wt scan --format jsonl --quiet -j1 -o /dev/null "$cap" || true
rm -rf "$suri_log"/*
/usr/bin/time -o "$suri_log.time" -f "suricata: %e s, %M KB max RSS" $suri > /dev/null 2>&1 || true
cat "$suri_log.time" && rm -f "$suri_log.time"
echo "== timing (one hyperfine run)"
hyperfine -N --warmup 1 --runs 5 -i \
  "$wt scan --format jsonl --quiet -j1 -o /dev/null $cap" \
  --prepare "find $suri_log -mindepth 1 -delete" "$suri"
rm -rf "$suri_log"
